package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sodp-go/client/internal/testutil"
	"github.com/sodp-go/client/sodp/sodptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// result is what one invocation produced.
type result struct {
	code           int
	stdout, stderr string
}

func ctl(ctx context.Context, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// newServer starts a test server that refuses every key under "secret.".
func newServer(t *testing.T, opts ...sodptest.Option) *sodptest.Server {
	t.Helper()
	opts = append(opts, sodptest.WithACL(func(_, key string, _ bool) bool {
		return !strings.HasPrefix(key, "secret.")
	}))
	srv := sodptest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

func checkResult(t *testing.T, args []string, got result, code int, stdout, stderr string) {
	t.Helper()
	if got.code != code {
		t.Errorf("sodpctl %q: exit code %d, want %d; stderr: %s", args, got.code, code, got.stderr)
	}
	if stdout != "" && got.stdout != stdout {
		t.Errorf("sodpctl %q: stdout %q, want %q", args, got.stdout, stdout)
	}
	if stderr != "" && !regexp.MustCompile(stderr).MatchString(got.stderr) {
		t.Errorf("sodpctl %q: stderr %q does not match %q", args, got.stderr, stderr)
	}
}

// TestCommands runs each subcommand in turn against one server; the
// state carries over from one case to the next.
func TestCommands(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	tests := []struct {
		args   []string
		code   int
		stdout string // exact, when not empty
		stderr string // regexp, when not empty
	}{
		{[]string{"get", "game.score"}, 1, "", `^sodpctl: get: no such key: game\.score \(never written, or deleted\)`},
		{[]string{"set", "game.score", `{"home":1,"away":0}`}, 0, `{"version":1}` + "\n", ""},
		{[]string{"get", "game.score"}, 0, `{"away":0,"home":1}` + "\n", ""},
		{[]string{"patch", "game.score", `{"away":2}`}, 0, `{"version":2}` + "\n", ""},
		{[]string{"set-in", "game.score", "/period", "3"}, 0, `{"version":3}` + "\n", ""},
		{[]string{"get", "game.score"}, 0, `{"away":2,"home":1,"period":3}` + "\n", ""},
		{[]string{"set", "game.big", `{"id":9007199254740993,"max":18446744073709551615,"f":0.5}`}, 0, `{"version":4}` + "\n", ""},
		{[]string{"get", "game.big"}, 0, `{"f":0.5,"id":9007199254740993,"max":18446744073709551615}` + "\n", ""},
		{[]string{"call", "state.set", `{"state":"game.list","value":[1,"two",null]}`}, 0, `{"version":5}` + "\n", ""},
		{[]string{"get", "game.list"}, 0, `[1,"two",null]` + "\n", ""},
		{[]string{"delete", "game.score"}, 0, `{"version":6}` + "\n", ""},
		{[]string{"get", "game.score"}, 1, "", `no such key: game\.score`},
		{[]string{"watch", "-count", "1", "game.big"}, 0,
			`{"key":"game.big","version":4,"kind":"snapshot","initialized":true,"value":{"f":0.5,"id":9007199254740993,"max":18446744073709551615}}` + "\n", ""},

		// Exit code 1: the server refused, or there is no server.
		{[]string{"set", "secret.x", "1"}, 1, "", `^sodpctl: set: .*403`},
		{[]string{"get", "secret.x"}, 1, "", `^sodpctl: get: .*403`},
		{[]string{"watch", "-count", "1", "secret.x"}, 1, "", `^sodpctl: watch: .*403`},
		{[]string{"watch", "-count", "1", "secret.x", "secret.y"}, 1, "", `(?s)sodpctl: watch secret\.x: .*403.*sodpctl: watch: .*403`},
		{[]string{"watch", "-count", "1", "secret.x", "game.big"}, 0,
			`{"key":"game.big","version":4,"kind":"snapshot","initialized":true,"value":{"f":0.5,"id":9007199254740993,"max":18446744073709551615}}` + "\n",
			`^sodpctl: watch secret\.x: .*403`},
		// A stored null is a value; a missing key is not.
		{[]string{"set", "game.null", `null`}, 0, `{"version":7}` + "\n", ""},
		{[]string{"get", "game.null"}, 0, "null\n", ""},
		{[]string{"call", "no.such.method", `{}`}, 1, "", `^sodpctl: call: .*404`},
		{[]string{"-url", "ws://127.0.0.1:1", "-timeout", "200ms", "get", "game.x"}, 1, "", `^sodpctl: .*dial ws://127\.0\.0\.1:1`},
		{[]string{"-url", "127.0.0.1:1", "-timeout", "200ms", "get", "game.x"}, 1, "", `^sodpctl: .*dial ws://127\.0\.0\.1:1`},

		// Exit code 2: the command line is wrong.
		{[]string{}, 2, "", `no command given(.|\n)*usage: sodpctl`},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"(.|\n)*usage: sodpctl`},
		{[]string{"-nope", "get", "a.b"}, 2, "", `flag provided but not defined: -nope(.|\n)*usage: sodpctl`},
		{[]string{"-timeout", "0s", "get", "a.b"}, 2, "", `-timeout must be positive`},
		{[]string{"get"}, 2, "", `get: want KEY, got 0 argument\(s\)(.|\n)*usage:`},
		{[]string{"get", "a.b", "c.d"}, 2, "", `get: want KEY, got 2`},
		{[]string{"set", "game.x"}, 2, "", `set: want KEY JSON`},
		{[]string{"set-in", "game.x", "/a"}, 2, "", `set-in: want KEY PATH JSON`},
		{[]string{"delete"}, 2, "", `delete: want KEY`},
		{[]string{"call", "m"}, 2, "", `call: want METHOD JSON`},
		{[]string{"set", "game.x", `{"a":`}, 2, "", `set: bad JSON`},
		{[]string{"set", "game.x", `1 2`}, 2, "", `set: bad JSON "1 2": more data`},
		{[]string{"set", "game.x", `1e999`}, 2, "", `out of range`},
		{[]string{"patch", "game.x", `[1]`}, 2, "", `patch: bad JSON "\[1\]": want an object`},
		{[]string{"call", "state.set", `"x"`}, 2, "", `call: bad JSON .*want an object`},
		{[]string{"watch"}, 2, "", `watch: want at least one KEY`},
		{[]string{"watch", "-count", "x", "a.b"}, 2, "", `watch: invalid value "x" for flag -count`},
		{[]string{"watch", "-count", "-1", "a.b"}, 2, "", `watch: -count must not be negative`},
		{[]string{"get", "bad..key"}, 2, "", `invalid key "bad\.\.key"`},
		{[]string{"set-in", "game.x", "pos", "1"}, 2, "", `invalid (JSON )?(pointer|path)`},
	}
	for _, tt := range tests {
		args := tt.args
		if len(args) == 0 || args[0] != "-url" {
			args = append([]string{"-url", srv.URL, "-timeout", "3s"}, args...)
		}
		checkResult(t, tt.args, ctl(ctx, args...), tt.code, tt.stdout, tt.stderr)
	}
}

// TestWatchUntilInterrupted watches two keys while another invocation
// writes them, then interrupts the watch.
func TestWatchUntilInterrupted(t *testing.T) {
	srv := newServer(t)
	srv.Set("game.score", map[string]any{"home": 0})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()

	watchCtx, interrupt := context.WithCancel(ctx)
	var stdout, stderr testutil.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(watchCtx, []string{"-url", srv.URL, "watch", "game.score", "game.player"}, &stdout, &stderr)
	}()
	waitLines := func(n int) []string {
		t.Helper()
		var l []string
		testutil.EventuallyWhy(t, 5*time.Second, fmt.Sprintf("%d lines", n), func() (bool, string) {
			l = stdout.Lines()
			return len(l) >= n && l[0] != "", fmt.Sprintf("have %q", l)
		})
		return l
	}
	waitLines(2) // both snapshots

	write := [][]string{
		{"set", "game.player", `{"name":"alice"}`},
		{"patch", "game.score", `{"home":1}`},
		{"set-in", "game.player", "/hp", "90"},
		{"delete", "game.player"},
	}
	for _, args := range write {
		if r := ctl(ctx, append([]string{"-url", srv.URL}, args...)...); r.code != 0 {
			t.Fatalf("%q: exit code %d: %s", args, r.code, r.stderr)
		}
	}
	lines := waitLines(6)
	interrupt()
	if code := <-done; code != 0 {
		t.Fatalf("watch exit code %d after the interrupt; stderr: %s", code, stderr.String())
	}

	type line struct {
		Key         string
		Version     uint64
		Kind        string
		Initialized bool
		Value       any
	}
	var got []line
	for _, s := range lines {
		var l line
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatalf("line %q: %v", s, err)
		}
		got = append(got, l)
	}
	snapshots := map[string]line{got[0].Key: got[0], got[1].Key: got[1]}
	if s := snapshots["game.score"]; s.Kind != "snapshot" || s.Version != 1 || !s.Initialized {
		t.Errorf("game.score snapshot: %+v", s)
	}
	if s := snapshots["game.player"]; s.Kind != "snapshot" || s.Version != 0 || s.Initialized {
		t.Errorf("game.player snapshot: %+v", s)
	}
	want := []string{
		`{"key":"game.player","version":2,"kind":"delta","initialized":true,"value":{"name":"alice"}}`,
		`{"key":"game.score","version":3,"kind":"delta","initialized":true,"value":{"home":1}}`,
		`{"key":"game.player","version":4,"kind":"delta","initialized":true,"value":{"hp":90,"name":"alice"}}`,
		`{"key":"game.player","version":5,"kind":"delta","initialized":false,"value":null}`,
	}
	for i, w := range want {
		if lines[2+i] != w {
			t.Errorf("line %d = %s\nwant       %s", 2+i, lines[2+i], w)
		}
	}
}

func TestToken(t *testing.T) {
	srv := newServer(t, sodptest.WithAuth([]byte("k")))
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	token := srv.Token("ops", time.Minute)

	r := ctl(ctx, "-url", srv.URL, "-token", token, "set", "game.x", "1")
	checkResult(t, []string{"-token", "valid"}, r, 0, `{"version":1}`+"\n", "")
	r = ctl(ctx, "-url", srv.URL, "-token", "not-a-jwt", "get", "game.x")
	checkResult(t, []string{"-token", "invalid"}, r, 1, "", `^sodpctl: .*(401|nauthori[sz]ed)`)

	// The defaults come from the environment.
	t.Setenv("SODP_URL", srv.URL)
	t.Setenv("SODP_TOKEN", token)
	checkResult(t, []string{"get", "game.x"}, ctl(ctx, "get", "game.x"), 0, "1\n", "")
}

func TestEmbeddedServer(t *testing.T) {
	t.Setenv("SODP_URL", "")
	t.Setenv("SODP_TOKEN", "")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	r := ctl(ctx, "set", "game.x", `{"a":1}`)
	checkResult(t, []string{"set"}, r, 0, `{"version":1}`+"\n", `fresh, empty embedded test server`)
	// Each invocation has its own server: nothing carries over.
	r = ctl(ctx, "get", "game.x")
	checkResult(t, []string{"get"}, r, 1, "", `embedded(.|\n)*no such key: game\.x`)
}

func TestHelp(t *testing.T) {
	r := ctl(context.Background(), "-h")
	checkResult(t, []string{"-h"}, r, 0, "", `usage: sodpctl(.|\n)*set-in KEY PATH JSON(.|\n)*-timeout`)
	r = ctl(context.Background(), "help")
	if r.code != 0 || !regexp.MustCompile(`usage: sodpctl(.|\n)*help(.|\n)*host:port`).MatchString(r.stdout) || r.stderr != "" {
		t.Errorf("sodpctl help: %+v", r)
	}
}

// TestHostPort: a URL without a scheme is ws://host:port.
func TestHostPort(t *testing.T) {
	srv := newServer(t)
	srv.Set("game.k", 7)
	hostport := strings.TrimPrefix(srv.URL, "ws://")
	r := ctl(context.Background(), "-url", hostport, "get", "game.k")
	checkResult(t, []string{"-url", hostport, "get", "game.k"}, r, 0, "7\n", "")
}
