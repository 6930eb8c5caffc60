package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sodp-go/client/sodp/sodptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runDashboard(ctx context.Context, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func mustMatch(t *testing.T, out string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(out) {
			t.Errorf("output does not match %q; output:\n%s", p, out)
		}
	}
}

func TestSimulatedMatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	code, out, errOut := runDashboard(ctx, "-url=", "-duration=1500ms", "-refresh=400ms", "-step=50ms")
	if code != 0 {
		t.Fatalf("exit code %d; stderr: %s\nstdout:\n%s", code, errOut, out)
	}
	mustMatch(t, out,
		`(?m)^game\.score  snapshot v\d+ +home 0 : away 0 \(period 1\)$`,
		`(?m)^game\.player snapshot v\d+ +alice hp 100 at \(0,0\)$`,
		`(?m)^game\.events snapshot v\d+ +\[kick-off\]$`,
		`(?m)^game\.player delta +v\d+ +alice hp \d+ at `,
		`(?m)^game\.score  delta +v\d+ +home \d+ : away \d+`,
		`(?m)^game\.events delta +v\d+ +\[.*goal (home|away)\]$`,
		`(?m)^== \[ *\d+\.\ds\] home \d+ : away \d+ \(period \d+\) \| alice hp \d+ at .* \| last event: .* \| \d+ updates$`,
		`(?m)^demo over after 1\.5s \(\d+ updates\)$`,
	)
	if strings.Count(out, "\n== [") < 3 {
		t.Errorf("want at least 3 redraws; output:\n%s", out)
	}
	checkVersionsIncrease(t, out)
}

// checkVersionsIncrease checks that each key's printed versions go up.
func checkVersionsIncrease(t *testing.T, out string) {
	t.Helper()
	line := regexp.MustCompile(`(?m)^(game\.\w+) +\w+ +v(\d+) `)
	last := map[string]int{}
	for _, m := range line.FindAllStringSubmatch(out, -1) {
		v, err := strconv.Atoi(m[2])
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := last[m[1]]; ok && v <= prev {
			t.Errorf("%s: version %d after %d", m[1], v, prev)
		}
		last[m[1]] = v
	}
}

func TestInterrupt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	start := time.Now()
	code, out, errOut := runDashboard(ctx, "-url=", "-duration=0", "-refresh=200ms")
	if code != 0 {
		t.Fatalf("exit code %d; stderr: %s", code, errOut)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s to stop after the context ended", d)
	}
	mustMatch(t, out, `(?m)^interrupted: bye$`)
}

func TestExternalServer(t *testing.T) {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set(scoreKey, Scoreboard{Home: 2, Away: 1, Period: 2})
	srv.Set(playerKey, "not a player")

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	code, out, errOut := runDashboard(ctx, "-url", srv.URL, "-token=", "-duration=700ms", "-refresh=300ms")
	if code != 0 {
		t.Fatalf("exit code %d; stderr: %s\nstdout:\n%s", code, errOut, out)
	}
	mustMatch(t, out,
		`(?m)^watching game\.score, game\.player and game\.events on ws://`,
		`(?m)^game\.score  snapshot v1 +home 2 : away 1 \(period 2\)$`,
		`(?m)^game\.player snapshot v2 +unreadable value: `,
		`(?m)^game\.events snapshot v0 +\(not set\)$`,
		`(?m)^demo over after 700ms`,
	)
}

func TestUsage(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{{"-bogus"}, {"extra"}, {"-refresh=0"}, {"-duration=-1s"}} {
		if code, _, errOut := runDashboard(ctx, args...); code != 2 || errOut == "" {
			t.Errorf("run %q = %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
	if code, _, _ := runDashboard(ctx, "-h"); code != 0 {
		t.Errorf("run -h = %d, want 0", code)
	}
}

func TestConnectionFailure(t *testing.T) {
	code, _, errOut := runDashboard(context.Background(), "-url", "ws://127.0.0.1:1", "-duration=300ms")
	if code != 1 || !strings.Contains(errOut, "dashboard:") {
		t.Fatalf("exit code %d, stderr %q; want 1 and a message", code, errOut)
	}
}
