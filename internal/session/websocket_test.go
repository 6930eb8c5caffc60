package session

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestTransport drives the WebSocket transport alone against a plain
// WebSocket server: data messages both ways, pings and pongs both ways
// (the transport answers the server's ping itself and reports it, and
// reports the pong to its own), a text message, the server's close frame
// as a *CloseError, and a write after the close as errCloseSent.
func TestTransport(t *testing.T) {
	serverGot := make(chan string, 4)
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.SetPongHandler(func(data string) error { serverGot <- "pong " + data; return nil })
		deadline := time.Now().Add(5 * time.Second)
		if _, data, err := ws.ReadMessage(); err == nil {
			serverGot <- string(data)
		}
		_ = ws.WriteControl(websocket.PingMessage, []byte("p1"), deadline)
		_ = ws.WriteMessage(websocket.BinaryMessage, []byte("world"))
		_ = ws.WriteMessage(websocket.TextMessage, []byte("txt"))
		if _, data, err := ws.ReadMessage(); err == nil { // answers the client's ping on the way
			serverGot <- string(data)
		}
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseMessageTooBig, "too big"), deadline)
		_, _, _ = ws.ReadMessage() // until the client's close
	}))
	defer srv.Close()
	defer wg.Wait()

	s := &Session{cfg: Config{HandshakeTime: 5 * time.Second}}
	tr, err := s.upgrade(context.Background(), time.Now().Add(5*time.Second), "ws"+strings.TrimPrefix(srv.URL, "http"))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var mu sync.Mutex
	var control []string
	tr.OnControl(func(pong bool, data string) {
		mu.Lock()
		defer mu.Unlock()
		if pong {
			control = append(control, "pong "+data)
		} else {
			control = append(control, "ping "+data)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	if err := tr.Write(msgBinary, []byte("hello"), deadline); err != nil {
		t.Fatal(err)
	}
	read := func() (bool, string, error) {
		binary, r, err := tr.NextReader()
		if err != nil {
			return false, "", err
		}
		b, err := io.ReadAll(r)
		return binary, string(b), err
	}
	if binary, data, err := read(); err != nil || !binary || data != "world" {
		t.Fatalf("read %v %q %v, want binary world", binary, data, err)
	}
	if err := tr.Write(msgPing, []byte("x"), deadline); err != nil {
		t.Fatal(err)
	}
	if err := tr.Write(msgBinary, []byte("after"), deadline); err != nil {
		t.Fatal(err)
	}
	if binary, data, err := read(); err != nil || binary || data != "txt" {
		t.Fatalf("read %v %q %v, want text txt", binary, data, err)
	}
	_, _, err = read()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 1009 || ce.Text != "too big" || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("read after the close frame: %v", err)
	}
	if err := tr.Write(msgBinary, []byte("late"), deadline); err != errCloseSent {
		t.Fatalf("write after the close: %v, want errCloseSent", err)
	}
	mu.Lock()
	got := strings.Join(control, ", ")
	mu.Unlock()
	if got != "ping p1, pong x" {
		t.Errorf("control frames reported: %s", got)
	}
	for _, want := range []string{"hello", "pong p1", "after"} {
		select {
		case g := <-serverGot:
			if g != want {
				t.Errorf("server got %q, want %q", g, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("server did not get %q", want)
		}
	}
}
