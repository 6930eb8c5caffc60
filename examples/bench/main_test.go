package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runBench(ctx context.Context, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code, out, errOut := runBench(ctx, "-reps", "1", "-warmup", "20ms", "-duration", "100ms",
		"-clients", "2", "-idle-clients", "10", "-keys", "50", "-q",
		// The conflation cases are all alike: one of them is enough here.
		"-run", `^(firehose|conflation/flat10/1c/|latency|scale)`)
	if code != 0 {
		t.Fatalf("exit code %d; stderr: %s\nstdout:\n%s", code, errOut, out)
	}
	if regexp.MustCompile(`(?m)^warning: `).MatchString(out) {
		t.Errorf("the run reported a warning (an update with an error, or a closed-loop gap):\n%s", out)
	}
	for _, p := range []string{
		`(?m)^machine: \w+/\w+, \d+ CPUs`,
		`(?m)^command: \S+ -reps 1 -warmup 20ms -duration 100ms -clients 2 -idle-clients 10 -keys 50 -q -run "\^\(firehose\|conflation/flat10/1c/\|latency\|scale\)"$`,
		`(?m)^case +metric +min +median +max +baseline +ratio +target +status$`,
		`(?m)^settings: .*, closed-loop window 4096$`,
		`(?m)^firehose flat10 1c baseline +updates/s +[\d.]+[kM]?/s`,
		`(?m)^firehose flat10 1c typed +updates/s( +[\d.]+[kM]?/s){4} +[\d.]+x +>= 0\.85x baseline +(met|NOT MET)$`,
		`(?m)^firehose flat10 1c any +updates/s .* >= 0\.9x baseline +(met|NOT MET)$`,
		`(?m)^firehose flat10 1c typed +cost/update +[\d.]+µs`,
		`(?m)^firehose nested100 2c typed +updates/s .* >= 0\.5x baseline +(met|NOT MET)$`,
		`(?m)^firehose nested100 1c source \(read, no decode\) +updates/s `,
		`(?m)^firehose wide10k 1c baseline +updates/s `,
		`(?m)^firehose wide10k 1c typed +updates/s `,
		`(?m)^firehose wide10k 1c any +cost/update( +[\d.]+µs){4} +[\d.]+x$`,
		`(?m)^firehose room1k 2c Map +updates/s `,
		`(?m)^firehose room10k 1c Map +CPU vs flat10( +[\d.]+µs){4} +[\d.]+x +<= 5x baseline +(met|NOT MET)$`,
		`(?m)^firehose room1k 1c path +cost/update `,
		`(?m)^firehose room10k 1c map +updates/s `,
		`(?m)^conflation flat10 1c baseline +updates/s +[\d.]+[kM]?/s`,
		`(?m)^conflation flat10 1c typed +covered/s( +[\d.]+[kM]?/s){4} +[\d.]+x$`,
		`(?m)^conflation flat10 1c any +delivered/s `,
		`(?m)^latency 1c @1000/s client +p99 .* <= 1\.2x baseline +(met|NOT MET)$`,
		`(?m)^latency 2c @100/s each \(own key\) baseline +p50 `,
		`(?m)^scale idle client \+ 1 sub \(10\), client only +RSS/client .* <= 30KiB +(met|NOT MET)$`,
		`(?m)^scale idle client \+ 1 sub \(10\), client only +goroutines/client .* <= 3 +(met|NOT MET)$`,
		`(?m)^scale extra sub via WatchMany \(50 keys\), client only +RSS/sub .* <= 1KiB +(met|NOT MET)$`,
		`(?m)^scale process before the clients .* +RSS `,
		`(?m)^scale extra sub via WatchMany \(50 keys\), client only +RSS/sub `,
		`(?m)^scale extra sub via 50 Watch calls, client only +goroutines/sub `,
		`(?m)^scale resume 50 keys after DropConnections +time `,
		`(?m)^total time `,
	} {
		if !regexp.MustCompile(p).MatchString(out) {
			t.Errorf("output does not match %q; output:\n%s", p, out)
		}
	}
}

func TestRunFilter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, out, errOut := runBench(ctx, "-scenarios", "firehose", "-run", "flat10/1c/typed",
		"-reps", "2", "-warmup", "10ms", "-duration", "50ms", "-q")
	if code != 0 {
		t.Fatalf("exit code %d; stderr: %s\nstdout:\n%s", code, errOut, out)
	}
	if !regexp.MustCompile(`(?m)^firehose flat10 1c typed +updates/s`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^firehose flat10 1c baseline `).MatchString(out) {
		t.Errorf("the selected case or its baseline is missing:\n%s", out)
	}
	if regexp.MustCompile(`(?m)^(firehose flat10 1c any|firehose nested100|firehose wide10k|firehose room|conflation|latency|scale) `).MatchString(out) {
		t.Errorf("cases outside the filter ran:\n%s", out)
	}
}

func TestUsage(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"-bogus"}, {"extra"}, {"-reps=0"}, {"-duration=0"}, {"-scenarios=nope"}, {"-run=("}, {"-window=10"},
	} {
		if code, _, errOut := runBench(ctx, args...); code != 2 || errOut == "" {
			t.Errorf("run %q = %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
	if code, _, _ := runBench(ctx, "-h"); code != 0 {
		t.Errorf("run -h = %d, want 0", code)
	}
}
