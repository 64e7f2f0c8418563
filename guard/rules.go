package guard

// The validation rules gqlgen checks documents with.

import (
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// ValidationRules returns the rule set to give handler.Server's
// SetValidationRulesFn, with SetDisableSuggestion(true): gqlparser's
// default rules, with two changes that keep validation linear in the
// document, so that the document limits bound it:
//
//   - OverlappingFieldsCanBeMerged is replaced by the check of merge.go,
//     which reaches the same verdicts without comparing every pair of
//     fields;
//   - no rule suggests names ("Did you mean …?"): each suggestion is an
//     edit distance between the unknown name and every name it could have
//     been, quadratic in their lengths (one unknown field named with a
//     megabyte of letters took 275 ms and 91 MB). They would also reveal
//     the schema to clients that introspection is turned off for. GraphiQL
//     suggests names itself, from the schema it introspects.
func ValidationRules(l Limits) func() *rules.Rules {
	budget := min(l.WithDefaults().MaxFields, maxCount) * mergeVisitsPerField
	return func() *rules.Rules {
		r := rules.NewDefaultRules()
		r.ReplaceRule(rules.OverlappingFieldsCanBeMergedRule.Name, fieldsCanMerge(budget).RuleFunc)
		for _, swap := range []struct{ with, without core.Rule }{
			{rules.FieldsOnCorrectTypeRule, rules.FieldsOnCorrectTypeRuleWithoutSuggestions},
			{rules.KnownArgumentNamesRule, rules.KnownArgumentNamesRuleWithoutSuggestions},
			{rules.KnownTypeNamesRule, rules.KnownTypeNamesRuleWithoutSuggestions},
			{rules.ScalarLeafsRule, rules.ScalarLeafsRuleWithoutSuggestions},
			{rules.ValuesOfCorrectTypeRule, rules.ValuesOfCorrectTypeRuleWithoutSuggestions},
		} {
			r.RemoveRule(swap.with.Name)
			r.AddRule(swap.without.Name, swap.without.RuleFunc)
		}
		return r
	}
}
