package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sodp-go/client/internal/testutil"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a bridge on a test HTTP server, backed by a client of a test SODP
// server that refuses every key under "secret.".
type env struct {
	srv  *sodptest.Server
	http *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := sodptest.NewServer(sodptest.WithACL(func(_, key string, _ bool) bool {
		return !strings.HasPrefix(key, "secret.")
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	ts := httptest.NewServer(newBridge(client))
	t.Cleanup(func() {
		ts.Close()
		client.Close()
		srv.Close()
	})
	return &env{srv: srv, http: ts}
}

// do sends a request and returns the status and body.
func (e *env) do(t *testing.T, method, path, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// post sets key and checks the answer carries version want.
func (e *env) post(t *testing.T, key, body string, want uint64) {
	t.Helper()
	status, got, _ := e.do(t, "POST", "/state/"+key, body)
	var res struct{ Version uint64 }
	if status != http.StatusOK || json.Unmarshal([]byte(got), &res) != nil || res.Version != want {
		t.Fatalf("POST /state/%s %s = %d %s; want 200 {\"version\":%d}", key, body, status, got, want)
	}
}

// sse reads server-sent events from a response body.
type sse struct {
	t    *testing.T
	body io.ReadCloser
	r    *bufio.Reader
}

// event is one decoded SSE event.
type event struct {
	name string
	data updateEvent
	raw  string
}

func (e *env) stream(t *testing.T, ctx context.Context, key string) *sse {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", e.http.URL+"/events/"+key, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("GET /events/%s: status %d", key, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q, want text/event-stream", ct)
	}
	s := &sse{t: t, body: resp.Body, r: bufio.NewReader(resp.Body)}
	t.Cleanup(func() { s.body.Close() })
	return s
}

// next reads lines up to the blank line that ends an event, skipping
// comments.
func (s *sse) next() event {
	s.t.Helper()
	var ev event
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("reading the event stream: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && ev.name != "":
			if err := json.Unmarshal([]byte(ev.raw), &ev.data); err != nil {
				s.t.Fatalf("event data %q: %v", ev.raw, err)
			}
			return ev
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.raw = strings.TrimPrefix(line, "data: ")
		}
	}
}

// expect reads the next event and checks it.
func (s *sse) expect(kind string, version uint64, value string) {
	s.t.Helper()
	ev := s.next()
	got, _ := json.Marshal(ev.data.Value)
	if ev.name != "update" || ev.data.Kind != kind || ev.data.Version != version || string(got) != value {
		s.t.Fatalf("event %s %s; want update kind %s version %d value %s", ev.name, ev.raw, kind, version, value)
	}
}

func TestEventStream(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	s := e.stream(t, ctx, "game.score")
	s.expect("snapshot", 0, "null")

	e.post(t, "game.score", `{"home":1,"away":0}`, 1)
	s.expect("delta", 1, `{"away":0,"home":1}`)
	e.post(t, "game.score", `{"home":1,"away":2,"scorers":["bo"]}`, 2)
	s.expect("delta", 2, `{"away":2,"home":1,"scorers":["bo"]}`)

	// A second stream of the same key starts from the client's copy.
	s2 := e.stream(t, ctx, "game.score")
	s2.expect("cached", 2, `{"away":2,"home":1,"scorers":["bo"]}`)

	// Changes made elsewhere reach both streams; a delete reads as null.
	e.srv.Delete("game.score")
	s.expect("delta", 3, "null")
	s2.expect("delta", 3, "null")
}

func TestStreamEndsWithRequest(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := e.stream(t, ctx, "game.score")
	s.expect("snapshot", 0, "null")
	cancel()
	// The handler's subscription ends with the request: the key is no
	// longer watched on the server.
	testutil.EventuallyWhy(t, 3*time.Second, "the request's subscription ended on the server", func() (bool, string) {
		n := e.srv.Stats().Subscriptions
		return n == 0, fmt.Sprintf("server still has %d subscriptions after the request ended", n)
	})
}

func TestGetState(t *testing.T) {
	e := newEnv(t)
	status, body, _ := e.do(t, "GET", "/state/game.player", "")
	if status != http.StatusNotFound || !strings.Contains(body, "not set") {
		t.Fatalf("GET unset key = %d %s; want 404", status, body)
	}
	// Integers beyond float64 precision survive the round trip.
	e.post(t, "game.player", `{"name":"alice","id":9007199254740993,"big":18446744073709551615,"hp":99.5}`, 1)
	status, body, h := e.do(t, "GET", "/state/game.player", "")
	want := `{"big":18446744073709551615,"hp":99.5,"id":9007199254740993,"name":"alice"}` + "\n"
	if status != http.StatusOK || body != want || h.Get("ETag") != `"1"` {
		t.Fatalf("GET = %d %q ETag %s; want 200 %q ETag \"1\"", status, body, h.Get("ETag"), want)
	}
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		method, path, body string
		status             int
		errMatch           string
	}{
		{"POST", "/state/bad..key", `1`, 400, `invalid.*key`},
		{"GET", "/state/bad..key", ``, 400, `invalid.*key`},
		{"GET", "/events/bad..key", ``, 400, `invalid.*key`},
		{"POST", "/state/game.x", `{"a":`, 400, `not valid JSON`},
		{"POST", "/state/game.x", ``, 400, `empty body`},
		{"POST", "/state/game.x", `{} {}`, 400, `more data`},
		{"POST", "/state/game.x", `1e999`, 400, `out of range`},
		{"POST", "/state/secret.x", `1`, 502, `403`},
		{"GET", "/state/secret.x", ``, 502, `403`},
		{"GET", "/events/secret.x", ``, 502, `403`},
	}
	for _, tt := range tests {
		status, body, h := e.do(t, tt.method, tt.path, tt.body)
		var res struct{ Error string }
		if status != tt.status || json.Unmarshal([]byte(body), &res) != nil ||
			!regexp.MustCompile(tt.errMatch).MatchString(res.Error) || h.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s %q = %d %s; want %d and an error matching %q", tt.method, tt.path, tt.body, status, body, tt.status, tt.errMatch)
		}
	}
	if status, _, _ := e.do(t, "PUT", "/state/game.x", "1"); status != http.StatusMethodNotAllowed {
		t.Errorf("PUT = %d, want 405", status)
	}
}

func TestRunEmbedded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	var stdout, stderr testutil.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- run(runCtx, []string{"-addr", "127.0.0.1:0", "-url="}, &stdout, &stderr) }()

	listening := regexp.MustCompile(`listening on (http://\S+)`)
	var base string
	testutil.EventuallyWhy(t, 5*time.Second, "run listening", func() (bool, string) {
		select {
		case code := <-done:
			t.Fatalf("run returned %d before listening; stderr: %s", code, stderr.String())
		default:
		}
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		}
		return base != "", "stderr: " + stderr.String()
	})
	if !strings.Contains(stdout.String(), "embedded test server") {
		t.Errorf("output does not mention the embedded server:\n%s", stdout.String())
	}

	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(base+"/state/demo.counter", "application/json", strings.NewReader(`41`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// An open event stream must not keep the program from stopping.
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/events/demo.counter", nil)
	events, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Body.Close()
	line, err := bufio.NewReader(events.Body).ReadString('\n')
	if err != nil || line != "event: update\n" {
		t.Fatalf("first stream line %q, %v", line, err)
	}

	stop()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit code %d; stderr: %s", code, stderr.String())
		}
	case <-ctx.Done():
		t.Fatal("run did not stop")
	}
	if !strings.HasSuffix(stdout.String(), "stopped\n") {
		t.Errorf("output does not end with \"stopped\":\n%s", stdout.String())
	}
}

func TestRunFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"-bogus"}, &stdout, &stderr); code != 2 {
		t.Errorf("bad flag: exit code %d, want 2", code)
	}
	if code := run(ctx, []string{"-url", "ws://127.0.0.1:1"}, &stdout, &stderr); code != 1 {
		t.Errorf("unreachable server: exit code %d, want 1", code)
	}
}
