package sodp_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sodp-go/client/sodp"
)

// recordHandler keeps every log record.
type recordHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r.Clone())
	h.mu.Unlock()
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordHandler) find(msg string) []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []slog.Record
	for _, r := range h.records {
		if r.Message == msg {
			out = append(out, r)
		}
	}
	return out
}

func (h *recordHandler) all() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.records...)
}

func TestLogLinesPutTheErrorInAnAttribute(t *testing.T) {
	srv := newServer(t)
	h := &recordHandler{}
	c := dial(t, srv.URL, sodp.WithLogger(slog.New(h)))
	// An ERROR frame that belongs to no request: logged once, as a server
	// error with the error in "err".
	srv.Conns()[0].Send(7, 0, map[string]any{"code": 500, "message": "disk on fire"})
	eventually(t, "the server error logged", func() bool { return len(h.find("sodp: server error")) > 0 })
	// A close by the server: one line.
	srv.DropConnections()
	if err := c.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for _, r := range h.all() {
		if strings.Count(r.Message, "sodp:") > 1 {
			t.Errorf("log message %q repeats the prefix", r.Message)
		}
		r.Attrs(func(a slog.Attr) bool {
			if err, ok := a.Value.Any().(error); ok && a.Key != "err" {
				t.Errorf("log %q carries an error under %q", r.Message, a.Key)
			} else if ok && strings.Contains(r.Message, err.Error()) {
				t.Errorf("log message %q repeats its error", r.Message)
			}
			return true
		})
	}
	recs := h.find("sodp: server error")
	if len(recs) != 1 {
		t.Fatalf("%d server error lines, want 1", len(recs))
	}
	var errText string
	recs[0].Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			errText = a.Value.String()
		}
		return true
	})
	if !strings.Contains(errText, "disk on fire") {
		t.Errorf("err attribute %q", errText)
	}
}

func TestCallTimeoutSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeServer(t)
		c := dial(t, srv.URL, viaPipe(srv), sodp.WithCallTimeout(100*time.Millisecond))
		srv.Conns()[0].Pause()
		_, err := c.Set(context.Background(), "k", 1)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "call timeout") {
			t.Fatalf("Set = %v, want DeadlineExceeded saying the client's call timeout ended it", err)
		}
		if strings.Count(err.Error(), "sodp:") != 1 {
			t.Errorf("message %q", err)
		}
		// The caller's own deadline reads as the caller's.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := c.Set(ctx, "k", 1); !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "call timeout") {
			t.Errorf("Set with a deadline = %v", err)
		}
		srv.Conns()[0].Resume()
	})
}

func TestConnectionLostCallMessage(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	srv.Conns()[0].Pause()
	errc := make(chan error, 1)
	go func() { _, err := c.Set(ctxT(t), "k", 1); errc <- err }()
	eventually(t, "the call sent", func() bool { return c.Stats().CallsSent == 1 })
	srv.DropConnections()
	err := <-errc
	if !errors.Is(err, sodp.ErrConnectionLost) || !strings.Contains(err.Error(), "may or may not have been applied") || !strings.Contains(err.Error(), "state.set") {
		t.Fatalf("Set = %v", err)
	}
	if strings.Count(err.Error(), "sodp:") != 1 {
		t.Errorf("message %q", err)
	}
}

func TestKeyMessages(t *testing.T) {
	long := strings.Repeat("a", 5000)
	err := sodp.ValidKey(long)
	if !errors.Is(err, sodp.ErrInvalidKey) || !strings.Contains(err.Error(), "too long") || len(err.Error()) > 200 {
		t.Errorf("ValidKey(5000 chars) = %q", err)
	}
	if err := sodp.ValidKey(strings.Repeat("a", 1024)); err != nil {
		t.Errorf("a 1024-character key: %v", err)
	}
	if err := sodp.ValidKey("a..b"); !errors.Is(err, sodp.ErrInvalidKey) || !strings.Contains(err.Error(), `"a..b"`) {
		t.Errorf("ValidKey(a..b) = %v", err)
	}
}

func TestWatchCancelledContextSaysWhich(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := sodp.Watch[int](ctx, c, "game.k")
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "watch game.k") || strings.Count(err.Error(), "sodp:") != 1 {
		t.Errorf("Watch = %v", err)
	}
}

// A Dial that fails fast logs its failure once: one log line carries the
// error in err.
func TestDialFailureLogsOnce(t *testing.T) {
	h := &recordHandler{}
	_, err := sodp.Dial(ctxT(t), "ws://"+deadAddr(t), sodp.WithLogger(slog.New(h)))
	if err == nil {
		t.Fatal("Dial succeeded")
	}
	var withErr []slog.Record
	for _, r := range h.all() {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" {
				withErr = append(withErr, r)
			}
			return true
		})
	}
	if len(withErr) != 1 {
		var msgs []string
		for _, r := range withErr {
			msgs = append(msgs, r.Message)
		}
		t.Errorf("%d log lines carry the error, want 1: %q", len(withErr), msgs)
	}
}
