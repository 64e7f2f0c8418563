// Command buildimage builds the gateway's container image without a
// container engine or a registry: it compiles the static binaries
// (CGO_ENABLED=0), lays them in one layer with a non-root user, and writes
// the image as an OCI layout directory and/or a docker-archive tarball.
//
//	go run ./cmd/buildimage -version v1.2.3 -oci image-oci
//	go run ./cmd/buildimage -version v1.2.3 -tar gateway.tar -tag engage-gateway:v1.2.3
//
// Push the layout with `skopeo copy oci:image-oci:v1.2.3 docker://REGISTRY/engage-gateway:v1.2.3`
// or `crane push image-oci REGISTRY/engage-gateway:v1.2.3`; load the tarball
// with `docker load -i gateway.tar` or `podman load -i gateway.tar`; run the
// layout directly with `podman run oci:image-oci:v1.2.3`.
//
// The image is the one deploy/Dockerfile describes:
// /gateway (the entrypoint), /engagesim, /healthcheck (the HEALTHCHECK), user
// 65532, port 8080, LISTEN_ADDR=:8080. The build is reproducible: every
// timestamp is SOURCE_DATE_EPOCH (default 0).
package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed parts; the Dockerfile says the same (server/ops_package_test.go
// checks that the two agree).
const (
	User       = "65532:65532"
	Port       = "8080/tcp"
	ListenAddr = ":8080"
)

// Healthcheck is the image's health check, the Dockerfile's
// HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["/healthcheck"].
var Healthcheck = v1.HealthConfig{
	Test:        []string{"CMD", "/healthcheck"},
	Interval:    10 * time.Second,
	Timeout:     5 * time.Second,
	StartPeriod: 20 * time.Second,
	Retries:     3,
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "buildimage:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("buildimage", flag.ContinueOnError)
	src := fs.String("src", ".", "the gateway module's directory")
	gateway := fs.String("gateway", "", "a prebuilt static gateway binary (default: build it)")
	sim := fs.String("engagesim", "", "a prebuilt static engagesim binary (default: build it)")
	health := fs.String("healthcheck", "", "a prebuilt static healthcheck binary (default: build it)")
	version := fs.String("version", "devel", "the release: main.version and the org.opencontainers.image.version label")
	revision := fs.String("revision", "", "the commit, for the org.opencontainers.image.revision label (default: git rev-parse HEAD in -src)")
	caCerts := fs.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to ship at /etc/ssl/certs/ca-certificates.crt (the gateway calls Engage over HTTPS); empty for none")
	ociDir := fs.String("oci", "", "write the image as an OCI layout into this directory")
	tarPath := fs.String("tar", "", "write the image as a docker-archive tarball (docker/podman load)")
	tag := fs.String("tag", "", "the image's reference name (default engage-gateway:<version>)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ociDir == "" && *tarPath == "" {
		return errors.New("nothing to write: give -oci DIR and/or -tar FILE")
	}
	if *tag == "" {
		*tag = "engage-gateway:" + *version
	}
	if *revision == "" {
		out, err := exec.Command("git", "-C", *src, "rev-parse", "HEAD").Output()
		*revision = strings.TrimSpace(string(out))
		if err != nil || *revision == "" {
			*revision = "unknown"
		}
	}
	arch := os.Getenv("GOARCH")
	if arch == "" {
		arch = runtime.GOARCH
	}
	tmp, err := os.MkdirTemp("", "buildimage")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bins := []struct {
		path               *string
		name, pkg, ldflags string
	}{
		{gateway, "gateway", ".", "-s -w -X main.version=" + *version},
		{sim, "engagesim", "./cmd/engagesim", "-s -w"},
		{health, "healthcheck", "./cmd/healthcheck", "-s -w"},
	}
	files := map[string]string{}
	for _, b := range bins {
		p := *b.path
		if p == "" {
			p = filepath.Join(tmp, b.name)
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags", b.ldflags, "-o", p, b.pkg)
			cmd.Dir = *src
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
			}
		}
		if err := CheckStatic(p); err != nil {
			return err
		}
		files[b.name] = p
	}
	img, err := Build(Options{
		Gateway: files["gateway"], Engagesim: files["engagesim"], Healthcheck: files["healthcheck"],
		CACerts: *caCerts, Version: *version, Revision: *revision, Arch: arch, Created: sourceDate(),
	})
	if err != nil {
		return err
	}
	ref, err := name.NewTag(*tag)
	if err != nil {
		return err
	}
	if *ociDir != "" {
		if err := WriteLayout(*ociDir, ref, img); err != nil {
			return err
		}
		fmt.Printf("wrote OCI layout %s (%s)\n", *ociDir, ref.TagStr())
	}
	if *tarPath != "" {
		if err := tarball.WriteToFile(*tarPath, ref, img); err != nil {
			return err
		}
		fmt.Printf("wrote %s (%s)\n", *tarPath, ref)
	}
	return nil
}

// sourceDate is SOURCE_DATE_EPOCH, or the Unix epoch.
func sourceDate() time.Time {
	if s, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
		return time.Unix(s, 0).UTC()
	}
	return time.Unix(0, 0).UTC()
}

// CheckStatic fails unless path is an ELF executable with no interpreter and
// no dynamic section: one that runs in an image with no libc.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return fmt.Errorf("%s is dynamically linked (%s); build it with CGO_ENABLED=0", path, p.Type)
		}
	}
	if f.Section(".dynamic") != nil || f.Section(".interp") != nil {
		return fmt.Errorf("%s is dynamically linked; build it with CGO_ENABLED=0", path)
	}
	return nil
}

// Options are the inputs of Build.
type Options struct {
	Gateway, Engagesim, Healthcheck string // static binaries
	CACerts                         string // optional CA bundle
	Version, Revision, Arch         string
	Created                         time.Time
}

// Build returns the image: one layer, OCI media types.
func Build(o Options) (v1.Image, error) {
	layer, err := rootfs(o)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", o.Arch
	cf.Created = v1.Time{Time: o.Created}
	hc := Healthcheck
	cf.Config = v1.Config{
		Entrypoint:   []string{"/gateway"},
		User:         User,
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{Port: {}},
		Env: []string{
			"PATH=/",
			"LISTEN_ADDR=" + ListenAddr,
		},
		Healthcheck: &hc,
		Labels: map[string]string{
			"org.opencontainers.image.title":    "engage-gateway",
			"org.opencontainers.image.version":  o.Version,
			"org.opencontainers.image.revision": o.Revision,
			"org.opencontainers.image.source":   "https://github.com/engagegql/gateway",
		},
	}
	cf.History = []v1.History{{Created: cf.Created, CreatedBy: "buildimage", Comment: "static binaries, /etc/passwd, /tmp"}}
	return mutate.ConfigFile(img, cf)
}

// WriteLayout writes img into an OCI layout at dir (created, or appended to),
// named ref's tag so that `podman run oci:DIR:TAG` and `skopeo copy oci:DIR:TAG` find it.
func WriteLayout(dir string, ref name.Tag, img v1.Image) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return err
		}
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref.TagStr(),
	}))
}

// rootfs is the image's only layer.
func rootfs(o Options) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mod := o.Created
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mod, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: mod, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	for _, d := range []string{"etc", "etc/ssl", "etc/ssl/certs"} {
		if err := dir(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: mod, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "home/nonroot/", Mode: 0o700, Uid: 65532, Gid: 65532, ModTime: mod, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	etc := map[string]string{
		"etc/passwd":        "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
		"etc/group":         "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n",
		"etc/nsswitch.conf": "hosts: files dns\n",
	}
	for _, n := range []string{"etc/group", "etc/nsswitch.conf", "etc/passwd"} {
		if err := file(n, 0o644, []byte(etc[n])); err != nil {
			return nil, err
		}
	}
	if o.CACerts != "" {
		b, err := os.ReadFile(o.CACerts)
		if err != nil {
			return nil, fmt.Errorf("CA bundle: %w (give -ca-certs '' to ship none)", err)
		}
		if err := file("etc/ssl/certs/ca-certificates.crt", 0o644, b); err != nil {
			return nil, err
		}
	}
	for _, b := range []struct{ name, path string }{{"engagesim", o.Engagesim}, {"gateway", o.Gateway}, {"healthcheck", o.Healthcheck}} {
		body, err := os.ReadFile(b.path)
		if err != nil {
			return nil, err
		}
		if err := file(b.name, 0o755, body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
