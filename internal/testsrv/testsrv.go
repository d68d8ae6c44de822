// Package testsrv starts servers for tests: Debian's redis-server (alone
// or as a cluster) and versitygw (an S3-compatible gateway, posix
// backend), the embedded fake S3 with a real client (NewFakeS3), and
// stand-ins for endpoints a test must never reach (Recorder). A test whose
// binary is absent is skipped with a message; .ci/run installs them (see
// .ci/real-servers.sh).
package testsrv

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// VersitygwVersion is the version .ci/real-servers.sh installs.
const VersitygwVersion = "v1.8.0"

// Credentials of the versitygw root account the tests start.
const (
	AccessKey = "stormsim-access"
	SecretKey = "stormsim-secret-key"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Binary finds a tool in PATH, or skips the test.
func Binary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (apt-get install -y redis-server; .ci/run does): %v", name, err)
	}
	return p
}

// Start runs a server process until the test ends; its output goes to a
// file in the test's temporary folder, shown when the test fails.
func Start(t testing.TB, dir string, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), filepath.Base(name)+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("%s output:\n%s", filepath.Base(name), tail(b, 4000))
			}
		}
	})
	return cmd
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// WaitTCP waits until addr accepts connections.
func WaitTCP(t testing.TB, addr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start listening within %v: %v", addr, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Redis starts a private redis-server on a free loopback port and returns
// its address.
func Redis(t testing.TB) string {
	t.Helper()
	bin := Binary(t, "redis-server")
	port := FreePort(t)
	Start(t, t.TempDir(), nil, bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	WaitTCP(t, addr, 10*time.Second)
	return addr
}

// RedisCluster starts n cluster-enabled redis-servers, joins them with
// redis-cli --cluster create (no replicas) and returns their addresses.
func RedisCluster(t testing.TB, n int) []string {
	t.Helper()
	bin := Binary(t, "redis-server")
	cli := Binary(t, "redis-cli")
	var addrs []string
	for range n {
		port := FreePort(t)
		dir := t.TempDir()
		Start(t, dir, nil, bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "2000")
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(port))
	}
	for _, a := range addrs {
		WaitTCP(t, a, 10*time.Second)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command(cli, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		for {
			info, _ := exec.Command(cli, "-h", host, "-p", port, "cluster", "info").Output()
			if bytes.Contains(info, []byte("cluster_state:ok")) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster not ok at %s:\n%s", a, info)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return addrs
}

// VersitygwPath finds versitygw: $STORMSIM_VERSITYGW, PATH, or where
// .ci/real-servers.sh installs it; otherwise it skips the test.
func VersitygwPath(t testing.TB) string {
	t.Helper()
	cands := []string{os.Getenv("STORMSIM_VERSITYGW")}
	if p, err := exec.LookPath("versitygw"); err == nil {
		cands = append(cands, p)
	}
	if home, err := os.UserHomeDir(); err == nil {
		cands = append(cands, filepath.Join(home, ".cache", "stormsim", "tools", "versitygw-"+VersitygwVersion, "versitygw"))
	}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c
		}
	}
	t.Skipf("versitygw not installed (GOBIN=... go install github.com/versity/versitygw/cmd/versitygw@%s, or set STORMSIM_VERSITYGW; .ci/real-servers.sh does)", VersitygwVersion)
	return ""
}

// Versitygw starts versitygw with the posix backend in a temporary folder
// on loopback port (0 = a free one), posting ObjectCreated notifications to webhook
// (which must already listen: versitygw posts a test event at start and
// exits when it cannot connect). It returns the endpoint URL; the root
// credentials are AccessKey and SecretKey.
func Versitygw(t testing.TB, bin string, port int, webhook string) string {
	t.Helper()
	data := t.TempDir()
	filter := filepath.Join(t.TempDir(), "filter.json")
	if err := os.WriteFile(filter, []byte(EventFilter), 0o644); err != nil {
		t.Fatal(err)
	}
	if port == 0 {
		port = FreePort(t)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"--quiet", "--port", addr}
	if webhook != "" {
		args = append(args, "--event-webhook-url", webhook, "--event-filter", filter)
	}
	args = append(args, "posix", data)
	Start(t, data, []string{"ROOT_ACCESS_KEY=" + AccessKey, "ROOT_SECRET_KEY=" + SecretKey}, bin, args...)
	WaitTCP(t, addr, 20*time.Second)
	return "http://" + addr
}

// EventFilter makes versitygw send only the notifications the harness
// uses (a staged object's creation), not those of its copies and deletes.
const EventFilter = `{"s3:ObjectCreated:Put": true, "s3:ObjectCreated:CompleteMultipartUpload": true}`

// AWSEnv points the AWS configuration chain at the versitygw root
// account, and keeps the SDK off the instance metadata service.
func AWSEnv(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
}
