// Command bench measures the SODP Go client end to end and prints one
// table that compares it with a baseline measured in the same run.
//
// Scenarios:
//
//   - firehose: a minimal in-process WebSocket server streams DELTA frames
//     in a closed loop, never more than -window frames ahead of what the
//     reader has taken, to subscriptions that buffer as many: every update
//     is delivered, and the figure is updates per second through the
//     client to a subscriber (flat10, nested100 and wide10k values, typed
//     and untyped subscribers; the room of 1,000 and 10,000 cursors as
//     any, map[string]Cursor, sodp.Map[Cursor] and WatchPath of one
//     cursor; 1 client and -clients clients). The baseline is a bare
//     gorilla/websocket ReadMessage plus msgpack.Unmarshal loop reading
//     the same closed-loop stream.
//   - conflation: the same server as fast as TCP takes the frames, to
//     conflating subscriptions: versions covered per second, and updates
//     delivered per second.
//   - latency: sodptest mutations at a fixed rate; one-way latency from just
//     before the mutation to the value arriving on the subscriber's
//     channel, against a bare loop reading the same sodptest stream.
//   - scale: memory and goroutines per idle client and per extra
//     subscription, and the time to resume -keys keys after a reconnect.
//
// Every scenario runs -reps times; baseline and client runs are
// interleaved so that machine noise hits both.
//
//	go run ./examples/bench
//	go run ./examples/bench -scenarios firehose -run 'flat10/1c/typed' -cpuprofile cpu.out
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config holds the command-line settings.
type config struct {
	scenarios   map[string]bool
	filter      *regexp.Regexp
	reps        int
	warmup      time.Duration
	duration    time.Duration
	clients     int
	idleClients int
	keys        int
	rate        int
	rateMany    int
	batch       int
	window      int
	cpuprofile  string
	memprofile  string
	quiet       bool
	args        []string
	progress    io.Writer
	lastLog     time.Time
}

var allScenarios = []string{"firehose", "conflation", "latency", "scale"}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{args: args}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scen := fs.String("scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run: firehose, conflation, latency, scale")
	filter := fs.String("run", "", "run only the cases whose name matches this regular expression (names look like firehose/flat10/1c/typed, conflation/nested100/100c/any, latency/100c, scale/idle); the baselines they compare with always run")
	fs.IntVar(&c.reps, "reps", 5, "repetitions of every case (min/median/max are over these)")
	fs.DurationVar(&c.warmup, "warmup", 300*time.Millisecond, "warm-up before each measurement (firehose, latency)")
	fs.DurationVar(&c.duration, "duration", time.Second, "measurement time of each firehose and latency run")
	fs.IntVar(&c.clients, "clients", 100, "clients in the many-client firehose and latency cases (0 or 1 skips them)")
	fs.IntVar(&c.idleClients, "idle-clients", 1000, "idle clients in the scale scenario")
	fs.IntVar(&c.keys, "keys", 10000, "keys of the one-client scale cases (WatchMany, Watch, resume)")
	fs.IntVar(&c.rate, "rate", 1000, "updates per second of the one-client latency case")
	fs.IntVar(&c.rateMany, "rate-many", 100, "updates per second per client (one key each) of the many-client latency case")
	fs.IntVar(&c.batch, "batch", 256, "firehose server: DELTA frames per socket write (1 writes each with WriteMessage)")
	fs.IntVar(&c.window, "window", 4096, "firehose (closed loop): the server stays at most this many updates ahead of what each reader has taken; the subscriptions buffer as many (WithBuffer), so every update is delivered")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to this file (samples are labelled role=client|server|baseline|source)")
	fs.StringVar(&c.memprofile, "memprofile", "", "write an allocation profile to this file at the end")
	fs.BoolVar(&c.quiet, "q", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments %q\n", fs.Args())
		return nil, errors.New("unexpected arguments")
	}
	c.scenarios = map[string]bool{}
	for _, s := range strings.Split(*scen, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !contains(allScenarios, s) {
			fmt.Fprintf(stderr, "bench: unknown scenario %q (want %s)\n", s, strings.Join(allScenarios, ", "))
			return nil, errors.New("bad flag value")
		}
		c.scenarios[s] = true
	}
	if *filter != "" {
		re, err := regexp.Compile(*filter)
		if err != nil {
			fmt.Fprintf(stderr, "bench: -run: %v\n", err)
			return nil, err
		}
		c.filter = re
	}
	switch {
	case c.reps < 1, c.duration <= 0, c.warmup < 0, c.clients < 0, c.idleClients < 1,
		c.keys < 1, c.rate < 1, c.rateMany < 1, c.batch < 1, c.window < 2*kickEvery:
		fmt.Fprintf(stderr, "bench: -reps, -duration, -idle-clients, -keys, -rate, -rate-many and -batch must be positive; -warmup and -clients not negative; -window at least %d\n", 2*kickEvery)
		return nil, errors.New("bad flag value")
	}
	return c, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// want reports whether the case named name is selected by -run.
func (c *config) want(name string) bool { return c.filter == nil || c.filter.MatchString(name) }

// logf prints a progress line, with the time the previous step took.
func (c *config) logf(format string, args ...any) {
	if c.quiet {
		return
	}
	now := time.Now()
	prev := "start"
	if !c.lastLog.IsZero() {
		prev = "+" + now.Sub(c.lastLog).Round(10*time.Millisecond).String()
	}
	c.lastLog = now
	fmt.Fprintf(c.progress, "[%6s] "+format+"\n", append([]any{prev}, args...)...)
}

// run parses args, runs the benchmark and prints the table; it returns the
// exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	cfg.progress = stderr
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	printHeader(stdout, cfg)
	start := time.Now()
	t := newTable()
	notes, err := runAll(ctx, cfg, t)
	cfg.logf("done")
	t.print(stdout)
	for _, n := range notes {
		fmt.Fprintln(stdout, n)
	}
	fmt.Fprintf(stdout, "total time %s", time.Since(start).Round(100*time.Millisecond))
	if l := loadAvg(); l != "" {
		fmt.Fprintf(stdout, ", load average at end: %s", l)
	}
	fmt.Fprintln(stdout)

	if cfg.memprofile != "" {
		if perr := writeMemProfile(cfg.memprofile); perr != nil {
			fmt.Fprintln(stderr, "bench:", perr)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

func writeMemProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func printHeader(w io.Writer, cfg *config) {
	fmt.Fprintf(w, "machine: %s/%s, %d CPUs (GOMAXPROCS %d)%s, %s\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), cpuModel(), runtime.Version())
	cmd := []string{"bench"}
	if len(os.Args) > 0 {
		cmd[0] = filepath.Base(os.Args[0])
	}
	for _, a := range cfg.args {
		cmd = append(cmd, shellQuote(a))
	}
	fmt.Fprintf(w, "command: %s\n", strings.Join(cmd, " "))
	if l := loadAvg(); l != "" {
		fmt.Fprintf(w, "load average at start: %s\n", l)
	}
	fmt.Fprintf(w, "settings: reps %d (baseline and client runs interleaved), warm-up %s, duration %s, clients %d, idle clients %d, keys %d, latency rates %d/s and %d/s per client, server batch %d, closed-loop window %d\n",
		cfg.reps, cfg.warmup, cfg.duration, cfg.clients, cfg.idleClients, cfg.keys, cfg.rate, cfg.rateMany, cfg.batch, cfg.window)
	fmt.Fprintln(w)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return ", " + strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAvg returns the 1, 5 and 15 minute load averages where the system
// reports them: other work on the machine shows up in every figure.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`|&;<>()*?[]{}!#~") {
		return s
	}
	return strconv.Quote(s)
}

// runAll runs the selected scenarios, rep by rep, so that every case of a
// rep runs next to its baseline. It returns notes to print below the table.
func runAll(ctx context.Context, cfg *config, t *table) ([]string, error) {
	var notes []string
	fh := newFirehoseScenario(cfg, t, true)
	cf := newFirehoseScenario(cfg, t, false)
	lat := newLatencyScenario(cfg, t)
	sc := newScaleScenario(cfg, t)
	for rep := 1; rep <= cfg.reps; rep++ {
		if cfg.scenarios["firehose"] {
			if err := fh.rep(ctx, rep); err != nil {
				return append(notes, fh.notes()...), err
			}
		}
		if cfg.scenarios["conflation"] {
			if err := cf.rep(ctx, rep); err != nil {
				return append(notes, cf.notes()...), err
			}
		}
		if cfg.scenarios["latency"] {
			if err := lat.rep(ctx, rep); err != nil {
				return append(notes, lat.notes()...), err
			}
		}
		if cfg.scenarios["scale"] {
			if err := sc.rep(ctx, rep); err != nil {
				return append(notes, sc.notes()...), err
			}
		}
	}
	notes = append(notes, fh.notes()...)
	notes = append(notes, cf.notes()...)
	notes = append(notes, lat.notes()...)
	notes = append(notes, sc.notes()...)
	return notes, nil
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
