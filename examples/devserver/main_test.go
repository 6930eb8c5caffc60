package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sodp-go/client/internal/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testutil.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-secret", "s", "-dialect", "rust", "-heartbeat", "1s"}, &stdout, &stderr)
	}()
	testutil.EventuallyWhy(t, 5*time.Second, "the URL and token printed", func() (bool, string) {
		return strings.Contains(stdout.String(), "token:"), "stderr:\n" + stderr.String()
	})
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ws://127.0.0.1:") || strings.Count(lines[1], ".") != 2 {
		t.Fatalf("stdout %q", stdout.String())
	}
	ws, _, err := websocket.DefaultDialer.Dial(lines[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.ReadMessage(); err != nil {
		t.Fatalf("no HELLO: %v", err)
	}
	ws.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if !strings.Contains(stderr.String(), "dialect=rust") {
		t.Errorf("stderr lacks the startup log:\n%s", stderr.String())
	}
}

func TestRunErrors(t *testing.T) {
	var out testutil.SyncBuffer
	for _, args := range [][]string{
		{"-dialect", "cobol"},
		{"-addr", "256.0.0.1:1"},
		{"extra"},
		{"-nope"},
	} {
		if err := run(context.Background(), args, &out, &out); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
