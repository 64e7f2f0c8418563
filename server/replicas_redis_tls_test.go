package server

// Redis over TLS, with the password in a file, as a managed Redis is
// reached: a redis-server speaking only TLS with a certificate of its own
// authority.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tlsRedis starts a redis-server that speaks TLS only, with a certificate
// for 127.0.0.1 from an authority of its own, and requires password. It
// returns its address and the authority's PEM file.
func tlsRedis(t *testing.T, password string) (addr, caFile string) {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test Redis CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "redis"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	caFile = write("ca.pem", "CERTIFICATE", caDER)
	certFile, keyFile := write("redis.pem", "CERTIFICATE", leafDER), write("redis.key", "EC PRIVATE KEY", keyDER)

	port := freePort(t)
	cmd := exec.Command("redis-server", "--port", "0", "--tls-port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile, "--tls-auth-clients", "no",
		"--requirepass", password, "--save", "", "--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	rdb := redis.NewClient(&redis.Options{Addr: addr, Password: password, TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
	t.Cleanup(func() { _ = rdb.Close() })
	require.Eventually(t, func() bool { return rdb.Ping(context.Background()).Err() == nil }, 10*time.Second, 20*time.Millisecond, "redis-server with TLS on %s", addr)
	return addr, caFile
}

func TestRedisOverTLSWithAPasswordFile(t *testing.T) {
	const password = "redis-password-in-a-file"
	addr, caFile := tlsRedis(t, password)
	pwFile := filepath.Join(t.TempDir(), "redis-password")
	require.NoError(t, os.WriteFile(pwFile, []byte(password+"\n"), 0o600))
	env := map[string]string{"REDIS_URL": "redis://" + addr + "/0", "REDIS_TLS": "true", "REDIS_CA_FILE": caFile, "REDIS_PASSWORD_FILE": pwFile}

	check := func(env map[string]string) (int, string) {
		var out bytes.Buffer
		code := Run(t.Context(), theBinary(t), []string{"check", "--reach"}, func(k string) string { return env[k] }, &out, &out)
		return code, out.String()
	}
	code, out := check(env)
	require.Zero(t, code, out)
	assert.Contains(t, out, "redis: PING answered")

	without := withEnv(map[string]string{}, env)
	delete(without, "REDIS_CA_FILE")
	code, out = check(without)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "certificate signed by unknown authority", "without the authority the certificate is refused")

	wrong := filepath.Join(t.TempDir(), "wrong")
	require.NoError(t, os.WriteFile(wrong, []byte("not-it\n"), 0o600))
	code, out = check(withEnv(withEnv(map[string]string{}, env), map[string]string{"REDIS_PASSWORD_FILE": wrong}))
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "WRONGPASS")
	assert.NotContains(t, out, password)

	// The gateway itself, on that Redis.
	g := startGateway(t, withEnv(map[string]string{}, env))
	resp := g.query(t, `{ countries { name } }`, nil)
	require.Empty(t, resp.Errors)
	code, checks := readiness(t, g.url)
	assert.Equal(t, 200, code)
	assert.Equal(t, "ok", checks["redis"])
	assert.NotContains(t, g.logs.String(), password)
}
