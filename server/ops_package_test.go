package server

// The packaging (issue 12): the image, proven without a container engine by
// building it offline, reading it back and running what it holds; the
// compose file and the Kubernetes manifests, decoded by the real parsers.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	composetypes "github.com/compose-spec/compose-go/v2/types"
	"github.com/engagegql/gateway/engagesim"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// staticBuild compiles pkg as the Dockerfile does (CGO_ENABLED=0, stripped)
// into dir and checks that the result needs no libc.
func staticBuild(t *testing.T, dir, name, pkg, ldflags string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, pkg)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s: %s", pkg, out)
	f, err := elf.Open(bin)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "%s has an interpreter: not static", name)
		require.NotEqual(t, elf.PT_DYNAMIC, p.Type, "%s has a dynamic segment: not static", name)
	}
	require.Nil(t, f.Section(".dynamic"), "%s has a .dynamic section", name)
	require.Nil(t, f.Section(".interp"), "%s has an .interp section", name)
	return bin
}

// dockerfile is what the test reads of the Dockerfile's final stage.
type dockerfile struct {
	stages                         []string // every FROM
	from, entrypoint, user, expose string
	env                            []string
	health                         v1.HealthConfig
	buildRun                       string
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy/Dockerfile"))
	require.NoError(t, err)
	// Join continued lines.
	text := strings.ReplaceAll(string(raw), "\\\n", " ")
	var d dockerfile
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			d = dockerfile{from: rest, buildRun: d.buildRun, stages: append(d.stages, rest)} // a new stage
		case "RUN":
			if strings.Contains(rest, "go build") {
				d.buildRun = rest
			}
		case "ENTRYPOINT":
			d.entrypoint = rest
		case "USER":
			d.user = rest
		case "EXPOSE":
			d.expose = rest
		case "ENV":
			d.env = append(d.env, rest)
		case "HEALTHCHECK":
			for {
				flag, after, _ := strings.Cut(rest, " ")
				if !strings.HasPrefix(flag, "--") {
					break
				}
				k, v, _ := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
				rest = strings.TrimSpace(after)
				if k == "retries" {
					_, err := fmt.Sscan(v, &d.health.Retries)
					require.NoError(t, err)
					continue
				}
				dur, err := time.ParseDuration(v)
				require.NoError(t, err, "HEALTHCHECK --%s", k)
				switch k {
				case "interval":
					d.health.Interval = dur
				case "timeout":
					d.health.Timeout = dur
				case "start-period":
					d.health.StartPeriod = dur
				default:
					t.Fatalf("HEALTHCHECK: unknown flag --%s", k)
				}
			}
			cmd, exec, _ := strings.Cut(rest, " ")
			require.Equal(t, "CMD", cmd, "HEALTHCHECK needs CMD in exec form (no shell in the image)")
			var argv []string
			require.NoError(t, json.Unmarshal([]byte(exec), &argv), "HEALTHCHECK CMD must be a JSON array: there is no shell")
			d.health.Test = append([]string{"CMD"}, argv...)
		}
	}
	return d
}

// extract unpacks img's filesystem (its layers flattened) into dir.
func extract(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		require.NoError(t, err)
		name := filepath.Clean(h.Name)
		require.False(t, filepath.IsAbs(name) || strings.HasPrefix(name, ".."), "layer entry %q escapes the root", h.Name)
		target := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			require.NoError(t, os.MkdirAll(target, 0o755))
			require.NoError(t, os.Chmod(target, h.FileInfo().Mode()&(os.ModePerm|os.ModeSticky)))
		case tar.TypeReg:
			require.NoError(t, os.MkdirAll(filepath.Dir(target), 0o755))
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&os.ModePerm)
			require.NoError(t, err)
			_, err = io.Copy(f, tr)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		default:
			t.Fatalf("layer entry %q: unexpected type %c", h.Name, h.Typeflag)
		}
	}
}

// TestPackageImage builds the image offline with cmd/buildimage from static
// binaries, reads it back from its OCI layout, checks its config against the
// Dockerfile, unpacks it and serves the demo tenant from nothing but the
// unpacked files.
func TestPackageImage(t *testing.T) {
	const version, revision = "v0.0.0-packagetest", "0123456789abcdef0123456789abcdef01234567"
	bins := t.TempDir()
	gw := staticBuild(t, bins, "gateway", ".", "-s -w -X main.version="+version)
	sim := staticBuild(t, bins, "engagesim", "./cmd/engagesim", "-s -w")
	hc := staticBuild(t, bins, "healthcheck", "./cmd/healthcheck", "-s -w")
	buildimage := filepath.Join(bins, "buildimage")
	build := exec.Command("go", "build", "-o", buildimage, "./cmd/buildimage")
	build.Dir = repoRoot
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/buildimage: %s", out)

	ociDir := filepath.Join(t.TempDir(), "image-oci")
	out, err = exec.Command(buildimage, "-gateway", gw, "-engagesim", sim, "-healthcheck", hc,
		"-version", version, "-revision", revision, "-oci", ociDir, "-tag", "engage-gateway:"+version).CombinedOutput()
	require.NoError(t, err, "buildimage: %s", out)

	// Read it back from the layout alone.
	p, err := layout.FromPath(ociDir)
	require.NoError(t, err)
	idx, err := p.ImageIndex()
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 1)
	desc := im.Manifests[0]
	assert.Equal(t, version, desc.Annotations["org.opencontainers.image.ref.name"], "podman run oci:DIR:TAG finds the image by this")
	img, err := p.Image(desc.Digest)
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)

	df := readDockerfile(t)
	require.Len(t, df.stages, 2, "a build stage and the final one")
	assert.Equal(t, "golang:1.26 AS build", df.stages[0])
	assert.Contains(t, df.from, "distroless/static", "final stage")
	assert.Contains(t, df.from, "nonroot")
	assert.Contains(t, df.buildRun, `CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /gateway .`, "the build stage builds a static gateway")
	assert.Contains(t, df.buildRun, `CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /engagesim ./cmd/engagesim`)
	assert.Contains(t, df.buildRun, `CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /healthcheck ./cmd/healthcheck`)

	c := cf.Config
	assert.Equal(t, "linux", cf.OS)
	assert.Equal(t, []string{"/gateway"}, c.Entrypoint)
	assert.Equal(t, `["/gateway"]`, df.entrypoint, "the Dockerfile's ENTRYPOINT")
	assert.Equal(t, "65532:65532", c.User)
	assert.Equal(t, c.User, df.user, "the Dockerfile's USER")
	assert.NotContains(t, []string{"", "0", "root"}, strings.Split(c.User, ":")[0], "non-root")
	assert.Equal(t, map[string]struct{}{"8080/tcp": {}}, c.ExposedPorts)
	assert.Equal(t, "8080", df.expose, "the Dockerfile's EXPOSE")
	assert.Contains(t, c.Env, "LISTEN_ADDR=:8080")
	assert.Contains(t, df.env, "LISTEN_ADDR=:8080", "the Dockerfile's ENV")
	require.NotNil(t, c.Healthcheck)
	assert.Equal(t, []string{"CMD", "/healthcheck"}, c.Healthcheck.Test)
	assert.Equal(t, df.health, *c.Healthcheck, "the image's health check is the Dockerfile's HEALTHCHECK")
	assert.Equal(t, version, c.Labels["org.opencontainers.image.version"])
	assert.Equal(t, revision, c.Labels["org.opencontainers.image.revision"])

	// Unpack and look at the filesystem.
	root := t.TempDir()
	extract(t, img, root)
	for _, f := range []string{"gateway", "engagesim", "healthcheck"} {
		st, err := os.Stat(filepath.Join(root, f))
		require.NoError(t, err, "/%s in the image", f)
		assert.NotZero(t, st.Mode()&0o111, "/%s is executable", f)
	}
	passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	require.NoError(t, err)
	assert.Contains(t, string(passwd), "nonroot:x:65532:65532:")
	st, err := os.Stat(filepath.Join(root, "tmp"))
	require.NoError(t, err)
	assert.True(t, st.IsDir())
	assert.Equal(t, os.FileMode(0o777), st.Mode().Perm(), "/tmp is world-writable")
	assert.NotZero(t, st.Mode()&os.ModeSticky, "/tmp is sticky")

	// Run the unpacked gateway, with only the files of the image and only
	// the environment it needs, against a simulator.
	versionOut, err := (&exec.Cmd{Path: filepath.Join(root, "gateway"), Args: []string{"/gateway", "--version"}, Dir: root, Env: []string{}}).CombinedOutput()
	require.NoError(t, err, "%s", versionOut)
	assert.Contains(t, string(versionOut), version)

	simulator, err := engagesim.New(engagesim.Config{})
	require.NoError(t, err)
	t.Cleanup(simulator.Close)
	simSrv := httptest.NewServer(simulator)
	t.Cleanup(simSrv.Close)

	port := freePort(t)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	env := []string{"LISTEN_ADDR=" + listen}
	for k, v := range upstreamEnv(simSrv.URL) {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(root, "gateway"))
	cmd.Args[0] = "/gateway"
	cmd.Dir, cmd.Env = root, env
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 20 * time.Second
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("the unpacked gateway logged:\n%s", logs.String())
		}
	}()
	base := "http://" + listen
	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Eventually(t, func() bool { return status("/healthz") == http.StatusOK }, 30*time.Second, 50*time.Millisecond, "/healthz")
	require.Eventually(t, func() bool { return status("/readyz") == http.StatusOK }, 30*time.Second, 100*time.Millisecond, "/readyz")

	resp := (&gateway{url: base}).query(t, `{ locations { id name } }`, nil)
	require.Empty(t, resp.Errors)
	var data struct {
		Locations []struct{ ID, Name string }
	}
	require.NoError(t, json.Unmarshal(resp.Data, &data))
	require.NotEmpty(t, data.Locations, "the demo tenant's locations, through the unpacked binary")
	assert.NotEmpty(t, data.Locations[0].Name)

	// The image's own health check, as Docker runs it: the unpacked
	// /healthcheck with the container's LISTEN_ADDR.
	probe := func(env []string, args ...string) error {
		c := &exec.Cmd{Path: filepath.Join(root, "healthcheck"), Args: append([]string{"/healthcheck"}, args...), Dir: root, Env: env}
		out, err := c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	assert.NoError(t, probe([]string{"LISTEN_ADDR=" + listen}))
	assert.NoError(t, probe([]string{"LISTEN_ADDR=" + listen}, "/readyz"))
	assert.NoError(t, probe(nil, base+"/healthz"))
	assert.Error(t, probe([]string{fmt.Sprintf("LISTEN_ADDR=:%d", freePort(t))}), "nothing listens there")
	assert.Error(t, probe([]string{"LISTEN_ADDR=" + listen}, "/no-such-path"), "a 404 is unhealthy")
	t.Logf("image %s: %d files unpacked, gateway served the demo tenant with env %v", desc.Digest, countFiles(t, root), envNames(env))
}

func countFiles(t *testing.T, root string) int {
	n := 0
	require.NoError(t, filepath.WalkDir(root, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	}))
	return n
}

func envNames(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		out = append(out, k)
	}
	return out
}

// gatewaySettings are the environment variables the gateway reads: the names
// of the README's configuration table.
func gatewaySettings(t testing.TB) map[string]bool {
	out := map[string]bool{}
	for _, s := range settings(theBinary(t).README) {
		for _, n := range s.names {
			out[n] = true
		}
	}
	return out
}

// TestPackageCompose loads deploy/compose.yaml with compose-go, the parser
// docker compose itself uses, and checks the fleet it describes.
func TestPackageCompose(t *testing.T) {
	ctx := context.Background()
	wd, err := filepath.Abs(filepath.Join(repoRoot, "deploy"))
	require.NoError(t, err)
	// No environment: every ${VAR} needs its default.
	project, err := loader.LoadWithContext(ctx, composetypes.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: []composetypes.ConfigFile{{Filename: filepath.Join(wd, "compose.yaml")}},
		Environment: composetypes.Mapping{},
	}, func(o *loader.Options) {
		o.SkipResolveEnvironment = true
		o.ResolvePaths = true
	})
	require.NoError(t, err)
	assert.Equal(t, "engage-gateway", project.Name)
	require.ElementsMatch(t, []string{"redis", "engagesim", "gateway", "lb"}, project.ServiceNames())
	svc := project.Services

	assert.True(t, strings.HasPrefix(svc["redis"].Image, "redis:"))
	assert.Equal(t, composetypes.HealthCheckTest{"CMD", "redis-cli", "ping"}, svc["redis"].HealthCheck.Test)

	// The simulator and the gateway are the one image, built from the Dockerfile.
	for _, n := range []string{"engagesim", "gateway"} {
		s := svc[n]
		assert.Equal(t, "engage-gateway:devel", s.Image, n)
		require.NotNil(t, s.Build, n)
		assert.Equal(t, filepath.Dir(wd), s.Build.Context, n)
		assert.Equal(t, "deploy/Dockerfile", s.Build.Dockerfile, n)
		require.NotNil(t, s.HealthCheck, n)
		assert.Equal(t, "/healthcheck", s.HealthCheck.Test[1], "%s: the image's probe, exec form", n)
	}
	sim := svc["engagesim"]
	assert.Equal(t, composetypes.ShellCommand{"/engagesim"}, sim.Entrypoint)
	assert.Equal(t, composetypes.ShellCommand{"-addr", ":8090", "-single-key"}, sim.Command)
	assert.Equal(t, composetypes.HealthCheckTest{"CMD", "/healthcheck", "http://127.0.0.1:8090/_sim/healthz"}, sim.HealthCheck.Test)

	gw := svc["gateway"]
	require.NotNil(t, gw.Deploy)
	require.NotNil(t, gw.Deploy.Replicas)
	assert.Equal(t, 3, *gw.Deploy.Replicas, "three replicas")
	assert.Empty(t, gw.Ports, "replicas publish no port: the entry point does")
	assert.Equal(t, "service_healthy", gw.DependsOn["redis"].Condition)
	assert.Equal(t, "service_healthy", gw.DependsOn["engagesim"].Condition)
	assert.Equal(t, composetypes.HealthCheckTest{"CMD", "/healthcheck", "/readyz"}, gw.HealthCheck.Test)
	env := map[string]string{}
	known := gatewaySettings(t)
	for k, v := range gw.Environment {
		require.NotNil(t, v, "%s has no value", k)
		env[k] = *v
		assert.True(t, known[k], "compose sets %s, which is no setting of the gateway (README's configuration table)", k)
	}
	assert.Equal(t, "redis://redis:6379/0", env["REDIS_URL"])
	assert.Equal(t, "http://engagesim:8090/"+engagesim.DefaultTenant+"/api/V1", env["ENGAGE_API_URL"], "the demo tenant")
	assert.Equal(t, "http://engagesim:8090/tokenproviderapi/token", env["ENGAGE_TOKEN_URL"])
	assert.Equal(t, engagesim.DefaultClientID, env["ENGAGE_CLIENT_ID"])
	assert.Equal(t, engagesim.DefaultPassword, env["ENGAGE_PASSWORD"])
	assert.Contains(t, engagesim.DefaultKeys(), productOf(env["ENGAGE_SUBSCRIPTION_KEY"]), "a demo key (engagesim -single-key)")
	assert.Equal(t, "http://lb:8080", env["WEBHOOK_PUBLIC_URL"], "webhooks reach the fleet through the entry point")
	assert.NotEmpty(t, env["WEBHOOK_SECRET"])
	assert.Equal(t, "3", env["REPLICAS"])
	assert.Equal(t, ":8080", env["LISTEN_ADDR"])

	lb := svc["lb"]
	assert.True(t, strings.HasPrefix(lb.Image, "nginx:"))
	require.Len(t, lb.Ports, 1)
	assert.Equal(t, uint32(8080), lb.Ports[0].Target)
	assert.Equal(t, "8080", lb.Ports[0].Published)
	assert.Equal(t, "service_healthy", lb.DependsOn["gateway"].Condition)
	require.Len(t, lb.Volumes, 1)
	assert.Equal(t, filepath.Join(wd, "nginx.conf"), lb.Volumes[0].Source)
	assert.Equal(t, "/etc/nginx/nginx.conf", lb.Volumes[0].Target)
	conf, err := os.ReadFile(lb.Volumes[0].Source)
	require.NoError(t, err)
	assert.Contains(t, string(conf), "server gateway:8080 resolve;", "nginx balances over every replica")
	assert.Contains(t, string(conf), "listen 8080;")
	assert.Contains(t, string(conf), "proxy_set_header Upgrade $http_upgrade;", "websocket subscriptions pass")
	assert.Contains(t, string(conf), "proxy_buffering off;", "server-sent events stream")
}

// productOf is the product whose demo key is key ("" if none).
func productOf(key string) string {
	for p, k := range engagesim.DefaultKeys() {
		if k == key {
			return p
		}
	}
	return ""
}

// TestPackageKubernetes decodes every document of deploy/kubernetes strictly
// into the API's typed structs and checks how they fit together.
func TestPackageKubernetes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "deploy/kubernetes/*.yaml"))
	require.NoError(t, err)
	var (
		deps    []appsv1.Deployment
		svcs    []corev1.Service
		pdbs    []policyv1.PodDisruptionBudget
		secrets = map[string]corev1.Secret{}
	)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for i, doc := range yamlDocuments(string(raw)) {
			where := fmt.Sprintf("%s document %d", f, i+1)
			var tm metav1.TypeMeta
			require.NoError(t, yaml.Unmarshal([]byte(doc), &tm), where)
			strict := func(into any) {
				require.NoError(t, yaml.UnmarshalStrict([]byte(doc), into), where)
			}
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 Deployment":
				var d appsv1.Deployment
				strict(&d)
				deps = append(deps, d)
			case "v1 Service":
				var s corev1.Service
				strict(&s)
				svcs = append(svcs, s)
			case "policy/v1 PodDisruptionBudget":
				var p policyv1.PodDisruptionBudget
				strict(&p)
				pdbs = append(pdbs, p)
			case "v1 Secret":
				var s corev1.Secret
				strict(&s)
				secrets[s.Name] = s
			default:
				t.Fatalf("%s: unexpected %s %s", where, tm.APIVersion, tm.Kind)
			}
		}
	}
	require.Len(t, deps, 1)
	require.Len(t, svcs, 1)
	require.Len(t, pdbs, 1)
	require.Len(t, secrets, 2)
	d, svc, pdb := deps[0], svcs[0], pdbs[0]

	require.NotNil(t, d.Spec.Replicas)
	assert.Equal(t, int32(3), *d.Spec.Replicas)
	podLabels := d.Spec.Template.Labels
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	require.NoError(t, err)
	assert.True(t, sel.Matches(labelSet(podLabels)), "the Deployment's selector matches its pods")
	for k, v := range svc.Spec.Selector {
		assert.Equal(t, v, podLabels[k], "the Service selects the pods by %s", k)
	}
	require.NotEmpty(t, svc.Spec.Selector)
	pdbSel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	require.NoError(t, err)
	assert.False(t, pdbSel.Empty())
	assert.True(t, pdbSel.Matches(labelSet(podLabels)), "the PodDisruptionBudget covers the pods")
	require.NotNil(t, pdb.Spec.MinAvailable)
	assert.Less(t, pdb.Spec.MinAvailable.IntValue(), int(*d.Spec.Replicas), "a drain can still take one pod")

	pod := d.Spec.Template.Spec
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	require.Len(t, c.Ports, 1)
	assert.Equal(t, int32(8080), c.Ports[0].ContainerPort)
	portName := c.Ports[0].Name
	assert.Equal(t, intstr.FromString(portName), svc.Spec.Ports[0].TargetPort, "the Service targets the container's port")
	probe := func(name string, p *corev1.Probe, path string) {
		require.NotNil(t, p, name)
		require.NotNil(t, p.HTTPGet, name)
		assert.Equal(t, path, p.HTTPGet.Path, name)
		assert.Equal(t, intstr.FromString(portName), p.HTTPGet.Port, name)
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")

	// Non-root, as the image is.
	require.NotNil(t, pod.SecurityContext)
	require.NotNil(t, pod.SecurityContext.RunAsNonRoot)
	assert.True(t, *pod.SecurityContext.RunAsNonRoot)
	assert.Equal(t, int64(65532), *pod.SecurityContext.RunAsUser)
	require.NotNil(t, c.SecurityContext)
	assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	assert.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
	assert.False(t, c.Resources.Requests.Cpu().IsZero(), "cpu request")
	assert.False(t, c.Resources.Requests.Memory().IsZero(), "memory request")
	assert.False(t, c.Resources.Limits.Memory().IsZero(), "memory limit")

	// Every variable is a setting of the gateway, and every secret one is
	// read from a Secret that the example defines, by a key it has.
	known := gatewaySettings(t)
	fromSecret := map[string]*corev1.SecretKeySelector{}
	for _, e := range c.Env {
		assert.True(t, known[e.Name], "the Deployment sets %s, which is no setting of the gateway (README's configuration table)", e.Name)
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			fromSecret[e.Name] = ref
			s, ok := secrets[ref.Name]
			if assert.True(t, ok, "%s: no Secret %s in the example", e.Name, ref.Name) {
				assert.Contains(t, s.StringData, ref.Key, "%s: Secret %s has no key %s", e.Name, ref.Name, ref.Key)
			}
		}
	}
	for _, n := range []string{"REDIS_URL", "ENGAGE_CLIENT_ID", "ENGAGE_PASSWORD", "ENGAGE_SUBSCRIPTION_KEY", "WEBHOOK_SECRET"} {
		assert.Contains(t, fromSecret, n, "%s comes from a Secret (secretKeyRef)", n)
	}
	assert.Equal(t, "engage-gateway-redis", fromSecret["REDIS_URL"].Name)
}

type labelSet map[string]string

func (l labelSet) Has(k string) bool              { _, ok := l[k]; return ok }
func (l labelSet) Get(k string) string            { return l[k] }
func (l labelSet) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

// yamlDocuments splits a multi-document YAML stream.
func yamlDocuments(s string) []string {
	var docs []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	flush := func() {
		if strings.TrimSpace(stripComments(cur.String())) != "" {
			docs = append(docs, cur.String())
		}
		cur.Reset()
	}
	for sc.Scan() {
		if strings.TrimRight(sc.Text(), " ") == "---" {
			flush()
			continue
		}
		cur.WriteString(sc.Text() + "\n")
	}
	flush()
	return docs
}

func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
