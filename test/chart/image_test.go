package chart

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/tollgate-dev/tollgate"

// dockerfile is the Dockerfile as instructions: continuation lines joined, comments dropped.
type instruction struct{ cmd, args string }

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		if s := cur.String(); s != "" {
			cmd, args, _ := strings.Cut(s, " ")
			out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		}
		cur.Reset()
	}
	return out
}

// goBuild returns the Dockerfile's `go build` RUN instruction.
func goBuild(t *testing.T, ins []instruction) string {
	t.Helper()
	for _, in := range ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			return in.args
		}
	}
	t.Fatal("Dockerfile has no RUN ... go build")
	return ""
}

// TestDockerfile checks the promises the image makes: static build with the version stamped
// in, cached module and build directories, a digest-pinned distroless runtime, a fixed
// non-root user and exec-form entrypoint.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := readDockerfile(t)
	var froms []string
	last := map[string]string{}
	for _, in := range ins {
		if in.cmd == "FROM" {
			froms = append(froms, in.args)
			last = map[string]string{}
		}
		last[in.cmd] = in.args
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got FROM %v", froms)
	}
	if !regexp.MustCompile(`(^|\s)golang:1\.26(@sha256:[0-9a-f]{64})?\s+AS\s+\w+`).MatchString(froms[0]) {
		t.Errorf("builder %q: want golang:1.26", froms[0])
	}
	runtime := froms[len(froms)-1]
	if !regexp.MustCompile(`^gcr\.io/distroless/static(-debian\d+)?:nonroot@sha256:[0-9a-f]{64}$`).MatchString(runtime) {
		t.Errorf("runtime image %q: want gcr.io/distroless/static:nonroot pinned by digest", runtime)
	}
	// `last` now holds the final stage's instructions.
	if last["USER"] != "65532:65532" {
		t.Errorf("final USER %q, want 65532:65532", last["USER"])
	}
	if last["ENTRYPOINT"] != `["/tollgate"]` || last["CMD"] != `["serve"]` {
		t.Errorf(`ENTRYPOINT %s CMD %s, want ["/tollgate"] ["serve"] (exec form)`, last["ENTRYPOINT"], last["CMD"])
	}
	for _, label := range []string{"org.opencontainers.image.source", "org.opencontainers.image.version=\"${VERSION}\"", "org.opencontainers.image.revision=\"${COMMIT}\""} {
		if !strings.Contains(last["LABEL"], label) {
			t.Errorf("final stage LABEL lacks %s", label)
		}
	}

	build := goBuild(t, ins)
	for _, want := range []string{
		"--mount=type=cache,target=/go/pkg/mod",
		"--mount=type=cache,target=/root/.cache/go-build",
		"CGO_ENABLED=0", "-trimpath", "./cmd/tollgate",
		"-X " + module + "/pkg/version.Version=${VERSION}",
		"-X " + module + "/pkg/version.Commit=${COMMIT}",
	} {
		if !strings.Contains(build, want) {
			t.Errorf("go build step lacks %q:\n%s", want, build)
		}
	}
	if strings.Contains(build, " -a ") {
		t.Error("go build -a defeats the build cache")
	}
}

// TestDockerignoreAdmitsTheBuild checks that the allowlist in .dockerignore lets in every file
// `go build ./cmd/tollgate` reads, and keeps out tests, charts, git and local keys.
func TestDockerignoreAdmitsTheBuild(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	patterns := parseDockerignore(string(data))

	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,GoFiles,EmbedFiles,Module", "./cmd/tollgate")
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	need := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			Dir                 string
			GoFiles, EmbedFiles []string
			Module              *struct{ Path string }
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || p.Module.Path != module {
			continue
		}
		rel, err := filepath.Rel(repoRoot, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			need = append(need, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(need) < 3 {
		t.Fatal("go list found no package files of the module")
	}
	for _, f := range need {
		if ignored(patterns, f) {
			t.Errorf(".dockerignore excludes %s, which the build needs", f)
		}
	}
	for _, f := range []string{".git/HEAD", "charts/tollgate/values.yaml", "test/chart/image_test.go", "certs/local/tls.key", "bin/tollgate", "pkg/config/config_test.go"} {
		if !ignored(patterns, f) {
			t.Errorf(".dockerignore lets %s into the build context", f)
		}
	}
}

type ignorePattern struct {
	re     *regexp.Regexp
	negate bool
}

// parseDockerignore understands the subset of .dockerignore syntax used here: *, ** and
// leading ! for exceptions; a pattern also matches everything below a matching directory.
func parseDockerignore(s string) []ignorePattern {
	var out []ignorePattern
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := ignorePattern{}
		if strings.HasPrefix(line, "!") {
			p.negate, line = true, line[1:]
		}
		line = strings.Trim(path.Clean(line), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(line); i++ {
			switch {
			case strings.HasPrefix(line[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(line[i:], "**"):
				re.WriteString(".*")
				i++
			case line[i] == '*':
				re.WriteString("[^/]*")
			case line[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(line[i : i+1]))
			}
		}
		re.WriteString("(/.*)?$")
		p.re = regexp.MustCompile(re.String())
		out = append(out, p)
	}
	return out
}

func ignored(patterns []ignorePattern, file string) bool {
	excluded := false
	for _, p := range patterns {
		if p.re.MatchString(file) {
			excluded = !p.negate
		}
	}
	return excluded
}

// TestImageBinary builds the binary with the Dockerfile's own flags (read from the Dockerfile)
// and checks what the distroless image relies on: a static executable (no ELF interpreter, no
// shared libraries) that prints its stamped version as UID 65532 from a read-only directory.
// It compiles the whole binary, so it runs only under `make image-check` (TOLLGATE_IMAGE_CHECK=1).
func TestImageBinary(t *testing.T) {
	if os.Getenv("TOLLGATE_IMAGE_CHECK") == "" {
		t.Skip("set TOLLGATE_IMAGE_CHECK=1 (make image-check) to build and inspect the image binary")
	}
	build := goBuild(t, readDockerfile(t))
	m := regexp.MustCompile(`-ldflags "([^"]+)"`).FindStringSubmatch(build)
	if m == nil {
		t.Fatalf("no -ldflags \"...\" in the Dockerfile's go build:\n%s", build)
	}
	const version, commit = "v0.0.0-imagecheck", "0123456789abcdef"
	ldflags := strings.NewReplacer("${VERSION}", version, "${COMMIT}", commit).Replace(m[1])

	dir, err := os.MkdirTemp("", "tollgate-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755); os.RemoveAll(dir) })
	bin := filepath.Join(dir, "tollgate")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, "./cmd/tollgate")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has an ELF interpreter (PT_INTERP): it is dynamically linked and will not start on distroless/static")
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) != 0 {
		t.Errorf("binary needs shared libraries %v (DT_NEEDED)", libs)
	}
	if f.Section(".symtab") != nil {
		t.Error("binary keeps its symbol table: -s is missing from -ldflags")
	}
	f.Close()

	// A read-only working directory, as in the image (readOnlyRootFilesystem).
	if err := os.Chmod(bin, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(bin, "version")
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Fatal("running as root but setpriv (util-linux) is missing; cannot drop to UID 65532")
		}
		run = exec.Command(setpriv, "--reuid=65532", "--regid=65532", "--clear-groups", "--", bin, "version")
	} else {
		t.Logf("not root: running as UID %d instead of 65532", os.Geteuid())
	}
	run.Dir = dir
	run.Env = []string{"HOME=/nonexistent", "PATH=/nonexistent"}
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("tollgate version as an unprivileged user: %v\n%s", err, out)
	}
	for _, want := range []string{version, commit} {
		if !strings.Contains(string(out), want) {
			t.Errorf("`tollgate version` printed %q, want it to contain %q (stamped by -ldflags)", out, want)
		}
	}
	if probe := filepath.Join(dir, "probe"); os.WriteFile(probe, nil, 0o644) == nil && os.Geteuid() != 0 {
		t.Error("working directory is writable; the check would not prove a read-only run")
	}
	t.Logf("static binary OK; `tollgate version` as UID 65532 in a read-only dir: %s", strings.TrimSpace(string(out)))
}
