package auth

// This file turns configured public keys, from PEM or from a JWKS, into
// keys pinned to the one algorithm they may verify, so a token's "alg"
// header can never make the gateway use a key in a way it was not meant for.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

const (
	algHS256 = "HS256"
	algRS256 = "RS256"
	algES256 = "ES256"

	// minRSABits is the smallest RSA modulus accepted; shorter keys are
	// within reach of factoring and NIST retired them years ago.
	minRSABits = 2048
)

// publicKey is one asymmetric verification key with the only algorithm it
// verifies.
type publicKey struct {
	kid string // the JWKS "kid"; empty for PEM keys
	alg string // algRS256 for *rsa.PublicKey, algES256 for *ecdsa.PublicKey
	key any
}

// pinKey checks pub is a key the gateway accepts and pins its algorithm.
func pinKey(kid string, pub any) (publicKey, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < minRSABits {
			return publicKey{}, fmt.Errorf("the RSA key is shorter than %d bits", minRSABits)
		}
		return publicKey{kid: kid, alg: algRS256, key: k}, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return publicKey{}, errors.New("the ECDSA key is not on curve P-256; only ES256 is accepted")
		}
		return publicKey{kid: kid, alg: algES256, key: k}, nil
	}
	return publicKey{}, fmt.Errorf("a %T key is not supported; use RSA (RS256) or ECDSA P-256 (ES256)", pub)
}

// parsePEMKeys reads every PEM block in data. Any block the gateway cannot
// use is an error rather than skipped, so a misconfigured key file fails at
// start and not on the first request.
func parsePEMKeys(data []byte) ([]publicKey, error) {
	var keys []publicKey
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n := len(keys) + 1
		var pub any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				pub = cert.PublicKey
			}
		default:
			if strings.Contains(block.Type, "PRIVATE") {
				return nil, fmt.Errorf("auth: PEM block %d is a private key; configure only public keys", n)
			}
			return nil, fmt.Errorf("auth: PEM block %d has type %q; use PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", n, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("auth: PEM block %d (%s): %w", n, block.Type, err)
		}
		k, err := pinKey("", pub)
		if err != nil {
			return nil, fmt.Errorf("auth: PEM block %d (%s): %w", n, block.Type, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("auth: the public key PEM holds no PEM block")
	}
	return keys, nil
}
