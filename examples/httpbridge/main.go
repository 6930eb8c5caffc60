// Command httpbridge serves SODP state over plain HTTP: writes as JSON
// POSTs, reads as JSON GETs, and live updates as server-sent events.
//
//	POST /state/{key}   JSON body → state.set; answers {"version":N}
//	GET  /state/{key}   the key's current value as JSON (ETag: its version);
//	                    404 when the key holds nothing
//	GET  /events/{key}  a text/event-stream with one "update" event per
//	                    change: {"key","version","kind","initialized","value"}
//
// Invalid keys and bad JSON are answered with 400, failures of the SODP
// server or connection with 502; error bodies are {"error":"..."}.
//
// With no -url (and no $SODP_URL) it starts an embedded test server.
//
//	go run ./examples/httpbridge
//	curl -N localhost:8080/events/game.score          # in one terminal
//	curl -d '{"home":1}' localhost:8080/state/game.score   # in another
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
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

// run parses args and serves until ctx ends; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("httpbridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "HTTP listen address")
	url := fs.String("url", os.Getenv("SODP_URL"), "SODP server URL (default $SODP_URL, else an embedded test server)")
	token := fs.String("token", os.Getenv("SODP_TOKEN"), "token for the SODP server (default $SODP_TOKEN)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "httpbridge: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	if err := serve(ctx, *addr, *url, *token, stdout); err != nil {
		fmt.Fprintln(stderr, "httpbridge:", err)
		return 1
	}
	return 0
}

// connectTimeout bounds the first connection to the SODP server; after
// that, the client reconnects by itself for as long as the bridge runs.
const connectTimeout = 10 * time.Second

// serve connects to the SODP server (or starts the embedded one) and
// serves the bridge on addr until ctx ends.
func serve(ctx context.Context, addr, url, token string, out io.Writer) error {
	if url == "" {
		srv := sodptest.NewServer()
		defer srv.Close()
		url = srv.URL
		fmt.Fprintf(out, "no SODP URL given: using an embedded test server at %s\n", url)
	}
	dialCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	client, err := sodp.Dial(dialCtx, url, sodp.WithToken(token))
	if err != nil {
		return err
	}
	defer client.Close()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           newBridge(client),
		ReadHeaderTimeout: 10 * time.Second,
		// Requests inherit ctx, so event streams end when the program
		// stops and Shutdown does not wait for them.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "listening on %s\n", base)
	fmt.Fprintf(out, "  curl -N %s/events/game.score\n", base)
	fmt.Fprintf(out, "  curl -d '{\"home\":1}' %s/state/game.score\n", base)

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-served
	fmt.Fprintln(out, "stopped")
	return nil
}

// bridge translates HTTP requests into SODP calls and subscriptions.
type bridge struct {
	client     *sodp.Client
	getTimeout time.Duration // bound on GET /state waiting for the value
	keepAlive  time.Duration // comment lines on idle event streams
	maxBody    int64
}

// newBridge returns the HTTP handler of the bridge, backed by client.
func newBridge(client *sodp.Client) http.Handler {
	b := &bridge{
		client:     client,
		getTimeout: 10 * time.Second,
		keepAlive:  15 * time.Second,
		maxBody:    1 << 20,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /state/{key}", b.setState)
	mux.HandleFunc("GET /state/{key}", b.getState)
	mux.HandleFunc("GET /events/{key}", b.streamEvents)
	return mux
}

// setState handles POST /state/{key}.
func (b *bridge) setState(w http.ResponseWriter, r *http.Request) {
	value, err := decodeJSON(http.MaxBytesReader(w, r.Body, b.maxBody))
	if err != nil {
		writeError(w, err)
		return
	}
	key := r.PathValue("key")
	version, err := b.client.Set(r.Context(), key, value)
	if err != nil {
		writeError(w, fmt.Errorf("set %s: %w", key, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]uint64{"version": version})
}

// getState handles GET /state/{key}: a short watch, its first update.
func (b *bridge) getState(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	ctx, cancel := context.WithTimeout(r.Context(), b.getTimeout)
	defer cancel()
	sub, err := sodp.Watch[any](ctx, b.client, key)
	if err != nil {
		writeError(w, fmt.Errorf("watch %s: %w", key, err))
		return
	}
	defer sub.Close()
	u, err := firstUpdate(sub)
	if err != nil {
		writeError(w, fmt.Errorf("read %s: %w", key, err))
		return
	}
	w.Header().Set("ETag", strconv.Quote(strconv.FormatUint(u.Version, 10)))
	if !u.Initialized {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": key + " is not set", "version": u.Version})
		return
	}
	writeJSON(w, http.StatusOK, u.Value)
}

// streamEvents handles GET /events/{key}. The response starts only once
// the first value has arrived, so that a refused key still gets a proper
// status code.
func (b *bridge) streamEvents(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	ctx := r.Context()
	sub, err := sodp.Watch[any](ctx, b.client, key)
	if err != nil {
		writeError(w, fmt.Errorf("watch %s: %w", key, err))
		return
	}
	defer sub.Close()
	first, err := firstUpdate(sub)
	if err != nil {
		writeError(w, fmt.Errorf("watch %s: %w", key, err))
		return
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if sendUpdate(w, rc, first) != nil {
		return
	}

	keepAlive := time.NewTicker(b.keepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case u, ok := <-sub.Updates():
			if !ok {
				if ctx.Err() == nil {
					sendEvent(w, rc, "error", map[string]string{"error": sub.Err().Error()})
				}
				return
			}
			if sendUpdate(w, rc, u) != nil {
				return
			}
		case <-keepAlive.C:
			if sendComment(w, rc, "keep-alive") != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// firstUpdate waits for a subscription's first update.
func firstUpdate(sub *sodp.Subscription[any]) (sodp.Update[any], error) {
	u, ok := <-sub.Updates()
	if !ok {
		return u, sub.Err()
	}
	return u, u.Err
}

// updateEvent is the data of one SSE "update" event.
type updateEvent struct {
	Key         string `json:"key"`
	Version     uint64 `json:"version"`
	Kind        string `json:"kind"`
	Initialized bool   `json:"initialized"`
	Value       any    `json:"value"`
	Skipped     uint64 `json:"skipped,omitempty"`
}

func sendUpdate(w io.Writer, rc *http.ResponseController, u sodp.Update[any]) error {
	if u.Err != nil {
		return sendEvent(w, rc, "error", map[string]string{"error": u.Err.Error()})
	}
	return sendEvent(w, rc, "update", updateEvent{
		Key:         u.Key,
		Version:     u.Version,
		Kind:        u.Kind.String(),
		Initialized: u.Initialized,
		Value:       u.Value,
		Skipped:     u.Skipped,
	})
}

// sendEvent writes one SSE event whose data is v as JSON, and flushes.
func sendEvent(w io.Writer, rc *http.ResponseController, event string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(map[string]string{"error": "value not representable as JSON: " + err.Error()})
		event = "error"
	}
	if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
		return err
	}
	return rc.Flush()
}

func sendComment(w io.Writer, rc *http.ResponseController, text string) error {
	if _, err := fmt.Fprintf(w, ": %s\n\n", text); err != nil {
		return err
	}
	return rc.Flush()
}

// errBadJSON marks a request body that is not one JSON value.
var errBadJSON = errors.New("request body is not valid JSON")

// decodeJSON reads exactly one JSON value from r. Integers stay exact
// (int64, or uint64 above its range); other numbers become float64.
func decodeJSON(r io.Reader) (any, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty body", errBadJSON)
		}
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errBadJSON, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more data after the first value", errBadJSON)
	}
	return numbers(v)
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
			return nil, fmt.Errorf("%w: number %s out of range", errBadJSON, x)
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

// statusOf maps an error to an HTTP status: the caller's mistakes are 400
// (413 for an oversized body), a timeout is 504, and anything the SODP
// server or connection did is 502.
func statusOf(err error) int {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, errBadJSON), errors.Is(err, sodp.ErrInvalidKey):
		return http.StatusBadRequest
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, statusOf(err), map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusBadGateway
		data, _ = json.Marshal(map[string]string{"error": "value not representable as JSON: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}
