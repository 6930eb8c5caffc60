// Command sodpctl is a command-line client for SODP servers, in the spirit
// of etcdctl and the nats CLI: watch keys as JSON lines, read a key, write
// one, or call a server method.
//
//	sodpctl [-url URL] [-token TOKEN] [-timeout D] COMMAND [ARGS]
//
//	watch [-count N] KEY...   one JSON line per update until Ctrl-C or N updates
//	get KEY                   the key's value as JSON (null for a stored null; a key never written or deleted is an error)
//	set KEY JSON              replace the value
//	patch KEY JSON            merge the fields of a JSON object into the value
//	set-in KEY PATH JSON      set one location (PATH is a JSON Pointer: /pos/x)
//	delete KEY                delete the key
//	call METHOD JSON          call a method with a JSON object of arguments
//	help                      this summary, on stdout
//
// URL is ws://, wss://, sodp:// or sodps://, or host:port for ws://host:port.
// Writes print {"version":N}. Exit status: 0 success, 1 server or
// connection error, 2 usage error. Without -url (or $SODP_URL), each
// invocation starts a fresh, empty embedded test server, so state does not
// carry over from one command to the next.
//
//	go run ./examples/sodpctl -url ws://localhost:7777 watch game.score
//	go run ./examples/sodpctl -url ws://localhost:7777 set game.score '{"home":1}'
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the server refused, or the connection failed
	exitUsage = 2 // the command line is wrong
)

// run executes one invocation and returns its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	inv, err := parse(args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stderr)
		return exitOK
	}
	if errors.Is(err, errHelpCommand) {
		printUsage(stdout)
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "sodpctl:", err)
		printUsage(stderr)
		return exitUsage
	}
	if err := inv.execute(ctx, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "sodpctl:", err)
		if errors.Is(err, sodp.ErrInvalidKey) || errors.Is(err, sodp.ErrInvalidPath) {
			return exitUsage
		}
		return exitError
	}
	return exitOK
}

// operation is a parsed command, ready to run on a connected client. It
// writes its results to out and warnings to errOut.
type operation func(ctx context.Context, c *sodp.Client, out, errOut io.Writer) error

// command describes one subcommand.
type command struct {
	name     string
	synopsis string
	// parse checks the command's arguments and returns the operation;
	// its errors are usage errors.
	parse func(args []string) (operation, error)
	// streaming commands run until interrupted: -timeout bounds only
	// connecting.
	streaming bool
}

func commands() []command {
	return []command{
		{name: "watch", synopsis: "watch [-count N] KEY...   one JSON line per update until Ctrl-C or N updates", parse: parseWatch, streaming: true},
		{name: "get", synopsis: "get KEY                   print the key's value as JSON (missing key: exit 1)", parse: parseGet},
		{name: "set", synopsis: "set KEY JSON              replace the value", parse: parseSet},
		{name: "patch", synopsis: "patch KEY JSON            merge the fields of a JSON object into the value", parse: parsePatch},
		{name: "set-in", synopsis: "set-in KEY PATH JSON      set one location (PATH is a JSON Pointer: /pos/x)", parse: parseSetIn},
		{name: "delete", synopsis: "delete KEY                delete the key", parse: parseDelete},
		{name: "call", synopsis: "call METHOD JSON          call a method with a JSON object of arguments", parse: parseCall},
		{name: "help", synopsis: "help                      print this summary"},
	}
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// invocation is a parsed command line.
type invocation struct {
	url     string
	token   string
	timeout time.Duration
	cmd     command
	op      operation
}

// globalFlags returns the flag set of the global flags, which stores into
// inv. It prints nothing: run reports errors and usage.
func globalFlags(inv *invocation) *flag.FlagSet {
	fs := flag.NewFlagSet("sodpctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&inv.url, "url", os.Getenv("SODP_URL"), "server URL, or host:port for ws://host:port (default $SODP_URL, else a fresh embedded test server)")
	fs.StringVar(&inv.token, "token", os.Getenv("SODP_TOKEN"), "token for the server (default $SODP_TOKEN)")
	fs.DurationVar(&inv.timeout, "timeout", 10*time.Second, "bound on connecting and on each command other than watch")
	return fs
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: sodpctl [-url URL] [-token TOKEN] [-timeout D] COMMAND [ARGS]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintln(w, "  "+c.synopsis)
	}
	fmt.Fprintln(w, "\nflags:")
	var inv invocation
	fs := globalFlags(&inv)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// errHelpCommand is parse's answer to the help command.
var errHelpCommand = errors.New("help")

// withScheme turns host:port into ws://host:port; a URL with a scheme is
// left as it is.
func withScheme(url string) string {
	if url == "" || strings.Contains(url, "://") {
		return url
	}
	return "ws://" + url
}

// parse reads the global flags, the command and its arguments.
func parse(args []string) (*invocation, error) {
	inv := &invocation{}
	fs := globalFlags(inv)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if inv.timeout <= 0 {
		return nil, errors.New("-timeout must be positive")
	}
	inv.url = withScheme(inv.url)
	if fs.NArg() == 0 {
		return nil, errors.New("no command given")
	}
	name := fs.Arg(0)
	if name == "help" {
		return nil, errHelpCommand
	}
	cmd, ok := lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown command %q (sodpctl help lists them)", name)
	}
	op, err := cmd.parse(fs.Args()[1:])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	inv.cmd, inv.op = cmd, op
	return inv, nil
}

// execute connects (starting the embedded server when no URL is given)
// and runs the operation.
func (inv *invocation) execute(ctx context.Context, stdout, stderr io.Writer) error {
	url := inv.url
	if url == "" {
		srv := sodptest.NewServer()
		defer srv.Close()
		url = srv.URL
		fmt.Fprintln(stderr, "sodpctl: no -url or $SODP_URL: using a fresh, empty embedded test server (its state is gone when this command exits)")
	}

	opCtx := ctx
	if !inv.cmd.streaming {
		var cancel context.CancelFunc
		opCtx, cancel = context.WithTimeout(ctx, inv.timeout)
		defer cancel()
	}
	dialCtx, cancel := context.WithTimeout(opCtx, inv.timeout)
	defer cancel()
	client, err := sodp.Dial(dialCtx, url, sodp.WithToken(inv.token))
	if err != nil {
		return err
	}
	defer client.Close()

	if err := inv.op(opCtx, client, stdout, stderr); err != nil {
		return fmt.Errorf("%s: %w", inv.cmd.name, err)
	}
	return nil
}

// wantArgs checks the argument count; names lists the arguments wanted.
func wantArgs(args []string, n int, names string) error {
	if len(args) != n {
		return fmt.Errorf("want %s, got %d argument(s)", names, len(args))
	}
	return nil
}

func parseWatch(args []string) (operation, error) {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	count := fs.Int("count", 0, "stop after this many updates (0: run until interrupted)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *count < 0 {
		return nil, errors.New("-count must not be negative")
	}
	keys := fs.Args()
	if len(keys) == 0 {
		return nil, errors.New("want at least one KEY")
	}
	return func(ctx context.Context, c *sodp.Client, out, errOut io.Writer) error {
		return watch(ctx, c, keys, *count, out, errOut)
	}, nil
}

// watchLine is one line of watch output.
type watchLine struct {
	Key         string `json:"key"`
	Version     uint64 `json:"version"`
	Kind        string `json:"kind"`
	Initialized bool   `json:"initialized"`
	Value       any    `json:"value"`
}

// watch prints every update of keys until ctx ends or count updates have
// been printed. Updates are buffered, not conflated, so every version is
// printed; a reader that falls far behind ends the watch with an error.
func watch(ctx context.Context, c *sodp.Client, keys []string, count int, out, errOut io.Writer) error {
	sub, err := sodp.WatchMany[any](ctx, c, keys, sodp.WithBuffer(1024))
	if err != nil {
		return err
	}
	defer sub.Close()
	enc := json.NewEncoder(out)
	for n := 0; count == 0 || n < count; {
		u, ok := <-sub.Updates()
		if !ok {
			if ctx.Err() != nil {
				return nil // interrupted: the normal end of a watch
			}
			return sub.Err()
		}
		if u.Err != nil {
			// A refused key (the others go on; when every key is refused
			// the subscription ends with the last refusal) or a value that
			// could not be read.
			fmt.Fprintf(errOut, "sodpctl: watch %s: %v\n", u.Key, u.Err)
			continue
		}
		line := watchLine{Key: u.Key, Version: u.Version, Kind: u.Kind.String(), Initialized: u.Initialized, Value: u.Value}
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("%s v%d: %w", u.Key, u.Version, err)
		}
		n++
	}
	return nil
}

func parseGet(args []string) (operation, error) {
	if err := wantArgs(args, 1, "KEY"); err != nil {
		return nil, err
	}
	key := args[0]
	return func(ctx context.Context, c *sodp.Client, out, _ io.Writer) error {
		u, err := sodp.Get[any](ctx, c, key)
		if err != nil {
			return err
		}
		if !u.Initialized {
			return fmt.Errorf("%w: %s (never written, or deleted)", errNoKey, key)
		}
		return printJSON(out, u.Value)
	}, nil
}

// errNoKey reports a key that holds no value.
var errNoKey = errors.New("no such key")

func parseSet(args []string) (operation, error) {
	if err := wantArgs(args, 2, "KEY JSON"); err != nil {
		return nil, err
	}
	key := args[0]
	value, err := parseJSON(args[1])
	if err != nil {
		return nil, err
	}
	return writeOp(func(ctx context.Context, c *sodp.Client) (uint64, error) {
		return c.Set(ctx, key, value)
	}), nil
}

func parsePatch(args []string) (operation, error) {
	if err := wantArgs(args, 2, "KEY JSON"); err != nil {
		return nil, err
	}
	key := args[0]
	patch, err := parseObject(args[1])
	if err != nil {
		return nil, err
	}
	return writeOp(func(ctx context.Context, c *sodp.Client) (uint64, error) {
		return c.Patch(ctx, key, patch)
	}), nil
}

func parseSetIn(args []string) (operation, error) {
	if err := wantArgs(args, 3, "KEY PATH JSON"); err != nil {
		return nil, err
	}
	key, path := args[0], args[1]
	value, err := parseJSON(args[2])
	if err != nil {
		return nil, err
	}
	return writeOp(func(ctx context.Context, c *sodp.Client) (uint64, error) {
		return c.SetIn(ctx, key, path, value)
	}), nil
}

func parseDelete(args []string) (operation, error) {
	if err := wantArgs(args, 1, "KEY"); err != nil {
		return nil, err
	}
	key := args[0]
	return writeOp(func(ctx context.Context, c *sodp.Client) (uint64, error) {
		return c.Delete(ctx, key)
	}), nil
}

func parseCall(args []string) (operation, error) {
	if err := wantArgs(args, 2, "METHOD JSON"); err != nil {
		return nil, err
	}
	method := args[0]
	callArgs, err := parseObject(args[1])
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, c *sodp.Client, out, _ io.Writer) error {
		result, err := c.Call(ctx, method, callArgs)
		if err != nil {
			return err
		}
		return printJSON(out, result)
	}, nil
}

// writeOp turns a write into an operation that prints {"version":N}.
func writeOp(write func(context.Context, *sodp.Client) (uint64, error)) operation {
	return func(ctx context.Context, c *sodp.Client, out, _ io.Writer) error {
		v, err := write(ctx, c)
		if err != nil {
			return err
		}
		return printJSON(out, map[string]uint64{"version": v})
	}
}

func printJSON(out io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("value not representable as JSON: %w", err)
	}
	_, err = fmt.Fprintf(out, "%s\n", data)
	return err
}

// parseJSON decodes one JSON value. Integers stay exact (int64, or uint64
// above its range); other numbers become float64.
func parseJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("bad JSON %q: %v", s, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("bad JSON %q: more data after the first value", s)
	}
	return numbers(v)
}

// parseObject decodes a JSON object.
func parseObject(s string) (map[string]any, error) {
	v, err := parseJSON(s)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("bad JSON %q: want an object", s)
	}
	return m, nil
}

// numbers replaces the json.Number values in v by Go numbers.
func numbers(v any) (any, error) {
	var err error
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(x.String(), 10, 64); err == nil {
			return u, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("bad JSON: number %s out of range", x)
		}
		return f, nil
	case map[string]any:
		for k, e := range x {
			if x[k], err = numbers(e); err != nil {
				return nil, err
			}
		}
	case []any:
		for i, e := range x {
			if x[i], err = numbers(e); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}
