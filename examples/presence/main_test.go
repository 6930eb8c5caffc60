package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sodp-go/client/sodp/sodptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// runDemo runs the program with args and a short deadline, and returns its
// exit code and output.
func runDemo(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// wantInOrder fails unless each of wants appears in out, in order.
func wantInOrder(t *testing.T, out string, wants ...string) {
	t.Helper()
	rest := out
	for _, w := range wants {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("output lacks %q (in order); output:\n%s", w, out)
		}
		rest = rest[i+len(w):]
	}
}

func TestEmbeddedCutAndComeBack(t *testing.T) {
	code, out, errOut := runDemo(t, "-url=", "-timeout=7s")
	if code != 0 {
		t.Fatalf("exit code %d; stderr: %s\nstdout:\n%s", code, errOut, out)
	}
	wantInOrder(t, out,
		"embedded test server",
		"alice sees v0 (snapshot): {}",
		"alice sees v1 (delta): {alice@(10,4)}",
		"alice sees v2 (delta): {alice@(10,4) bob@(3,12)}",
		"alice sees v3 (delta): {alice@(10,4) bob@(7,15)}",
		"cutting bob's connection",
		"alice sees v4 (delta): {alice@(10,4)}\n",
		"reconnecting by itself",
		"live again (reconnects: 1)",
		"alice sees v5 (delta): {alice@(10,4) bob@(7,15)}",
		"bob sees v5",
	)
}

func TestExternalServer(t *testing.T) {
	srv := sodptest.NewServer()
	defer srv.Close()
	code, out, errOut := runDemo(t, "-url", srv.URL, "-token=", "-timeout=7s")
	if code != 0 {
		t.Fatalf("exit code %d; stderr: %s\nstdout:\n%s", code, errOut, out)
	}
	wantInOrder(t, out,
		"using the server at "+srv.URL,
		"cannot be cut from here",
		"alice sees v3 (delta): {alice@(10,4) bob@(7,15)}",
		"bob closes his client",
		"alice sees v4 (delta): {alice@(10,4)}\n",
	)
	if _, _, ok := srv.Get(cursorsKey); !ok {
		t.Fatalf("%s not initialized on the server", cursorsKey)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"-bogus"}, {"extra"}} {
		if code, _, errOut := runDemo(t, args...); code != 2 || errOut == "" {
			t.Errorf("run %q = %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}

func TestConnectionFailure(t *testing.T) {
	code, _, errOut := runDemo(t, "-url", "ws://127.0.0.1:1", "-timeout=300ms")
	if code != 1 || !strings.Contains(errOut, "alice") {
		t.Fatalf("exit code %d, stderr %q; want 1 and a message naming alice", code, errOut)
	}
}
