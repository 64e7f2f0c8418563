package server

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// build is what the binary knows of how it was built.
type build struct {
	Version, Commit, Go string
}

// buildInfo reads the version, the commit (with "-dirty" when the tree
// had uncommitted changes) and the Go release the binary was built from.
// version is the release the main package was linked with (Binary); when
// it is "", it is the module's version as the go command recorded it
// (v1.2.3 from go install …@v1.2.3), or "devel".
func buildInfo(version string) build {
	b := build{Version: version, Commit: "unknown", Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if b.Version == "" {
		b.Version = "devel"
		if ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
	}
	if !ok {
		return b
	}
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
			if len(b.Commit) > 12 {
				b.Commit = b.Commit[:12]
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && b.Commit != "unknown" {
		b.Commit += "-dirty"
	}
	return b
}

func (b build) String() string {
	return fmt.Sprintf("engage-gateway %s (commit %s, %s)", b.Version, b.Commit, b.Go)
}
