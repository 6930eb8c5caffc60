package sodp_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/sodp-go/client/sodp"
)

// connectProxy is an HTTP proxy that serves CONNECT only and records the
// addresses it was asked for.
type connectProxy struct {
	mu    sync.Mutex
	asked []string
	wg    sync.WaitGroup
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	up, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	down, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		up.Close()
		return
	}
	// Under mu, which the test takes before it waits for the copies.
	p.mu.Lock()
	p.asked = append(p.asked, r.Host)
	p.wg.Add(2)
	p.mu.Unlock()
	_, _ = io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n")
	go func() { defer p.wg.Done(); _, _ = io.Copy(up, down); up.Close() }()
	go func() { defer p.wg.Done(); _, _ = io.Copy(down, up); down.Close() }()
}

// TestWithProxy: the client opens its WebSocket through the proxy that
// WithProxy names, asking it for the server's address.
func TestWithProxy(t *testing.T) {
	srv := newServer(t)
	p := &connectProxy{}
	front := httptest.NewServer(p)
	defer p.wg.Wait()
	defer front.Close()
	proxyURL, err := url.Parse(front.URL)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	c := dial(t, srv.URL, sodp.WithProxy(func(r *http.Request) (*url.URL, error) {
		asked = append(asked, r.URL.Host)
		return proxyURL, nil
	}))
	if _, err := c.Set(ctxT(t), "k", 1); err != nil {
		t.Fatal(err)
	}
	c.Close()
	p.mu.Lock()
	through := append([]string(nil), p.asked...)
	p.mu.Unlock()
	if len(asked) != 1 || asked[0] != target.Host || len(through) != 1 || through[0] != target.Host {
		t.Fatalf("proxy function asked for %v, proxy connected %v; want %s once", asked, through, target.Host)
	}
}
