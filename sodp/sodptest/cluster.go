package sodptest

import (
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/internal/delta"
)

// Cluster is a set of servers ("nodes") sharing state the way the Go
// server library's Redis cluster backend does:
//
//   - each node has its own version counter; a change made on a node takes
//     that node's next version and is applied, logged and delivered there
//     at once;
//   - the change is then relayed to every other node with the origin's
//     version; a node drops a relayed change at or below its own version
//     of the key, and otherwise applies its ops to its own value, logs it
//     and delivers it to its watchers under that version (its counter
//     moves up to it). Two nodes writing one key at the same time can so
//     assign the same version to different changes and end up holding
//     different values, as the real backend does;
//   - a shared store keeps, per key, the value of the highest version any
//     node applied; a node (re)started loads it, with a counter at the
//     highest version in it;
//   - RESUME is answered from the node's own log.
//
// Relays are delivered in order, each node's from one goroutine; a relayed
// change is never lost once made (Partition holds relays back until Heal).
// Nodes listen on their own loopback addresses and keep them across
// restarts. With sodp.DialectGo each start of a node announces its own
// server_id. All methods are safe for concurrent use.
type Cluster struct {
	opts []Option

	mu          sync.Mutex
	cond        *sync.Cond // signalled on queue, partition and closing changes
	nodes       []*Node
	store       map[string]storedKey
	partitioned bool
	closed      bool
	wg          sync.WaitGroup
}

// storedKey is a key in the shared store.
type storedKey struct {
	value       any
	version     uint64
	initialized bool
}

// relay is one change on its way to another node.
type relay struct {
	key         string
	version     uint64
	ops         []delta.Op
	value       any
	initialized bool
}

// Node is one server of a Cluster.
type Node struct {
	// URL is the node's address, "ws://127.0.0.1:PORT"; it stays the same
	// across Kill and Restart.
	URL string

	cl    *Cluster
	index int
	addr  string

	mu     sync.Mutex // serialises Kill, Close, Restart and relay delivery
	srv    *Server    // nil while the node is down
	starts int

	queue    []relay // guarded by cl.mu
	inFlight bool    // guarded by cl.mu: a relay is being applied
}

// NewCluster starts n nodes (n >= 1) sharing state, each configured with
// opts (WithAddr is ignored: every node gets its own free loopback port).
// It panics if a node cannot listen, like NewServer.
func NewCluster(n int, opts ...Option) *Cluster {
	if n < 1 {
		panic("sodptest: NewCluster needs at least one node")
	}
	cl := &Cluster{opts: opts, store: make(map[string]storedKey)}
	cl.cond = sync.NewCond(&cl.mu)
	for i := range n {
		nd := &Node{cl: cl, index: i}
		cl.nodes = append(cl.nodes, nd)
	}
	for _, nd := range cl.nodes {
		nd.start("127.0.0.1:0")
		nd.addr = nd.srv.ln.Addr().String()
		nd.URL = nd.srv.URL
		cl.wg.Add(1)
		go cl.deliver(nd)
	}
	return cl
}

// Nodes returns the nodes, in creation order.
func (cl *Cluster) Nodes() []*Node { return append([]*Node(nil), cl.nodes...) }

// Node returns node i (0-based).
func (cl *Cluster) Node(i int) *Node { return cl.nodes[i] }

// URLs returns every node's URL, in node order.
func (cl *Cluster) URLs() []string {
	out := make([]string, len(cl.nodes))
	for i, nd := range cl.nodes {
		out[i] = nd.URL
	}
	return out
}

// Partition holds back every relay between nodes until Heal: each node
// goes on serving, and changes made meanwhile on different nodes are not
// seen by the others.
func (cl *Cluster) Partition() {
	cl.mu.Lock()
	cl.partitioned = true
	cl.mu.Unlock()
	cl.cond.Broadcast()
}

// Heal ends a Partition: the relays held back are delivered, in order.
func (cl *Cluster) Heal() {
	cl.mu.Lock()
	cl.partitioned = false
	cl.mu.Unlock()
	cl.cond.Broadcast()
}

// Settle waits until every relay made so far has been delivered (or, while
// partitioned, until only held-back relays remain).
func (cl *Cluster) Settle() {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for !cl.closed && !cl.partitioned && !cl.idleLocked() {
		cl.cond.Wait()
	}
}

func (cl *Cluster) idleLocked() bool {
	for _, nd := range cl.nodes {
		if len(nd.queue) > 0 || nd.inFlight {
			return false
		}
	}
	return true
}

// Close stops every node (abruptly, as Server.Close does) and the relays,
// and returns once every goroutine the cluster started has exited.
func (cl *Cluster) Close() {
	for _, nd := range cl.nodes {
		nd.Kill()
	}
	cl.mu.Lock()
	cl.closed = true
	cl.mu.Unlock()
	cl.cond.Broadcast()
	cl.wg.Wait()
}

// Server returns the node's running server, for its state API (Set, Get,
// DropConnections, …), or nil while the node is down.
func (nd *Node) Server() *Server {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.srv
}

// Kill stops the node abruptly, as kill -9 would: it makes no more changes
// (calls in progress get no answer), the changes it made are relayed to the
// other nodes, then every connection is dropped without a close frame and
// the listener closes. The node's own state and log are gone; the shared
// store keeps what it applied. Killing a node that is down does nothing.
func (nd *Node) Kill() { nd.stop(false) }

// Close stops the node like Kill, but sends each connection a close frame
// (1001, going away) first and waits briefly for the clients' replies.
func (nd *Node) Close() { nd.stop(true) }

// Restart starts the node again on its address, with the shared store's
// state, an empty log and a counter at the store's highest version; a
// running node is killed first. It panics if the address cannot be
// listened on again.
func (nd *Node) Restart() {
	nd.Kill()
	nd.mu.Lock()
	defer nd.mu.Unlock()
	nd.start(nd.addr)
}

// start launches a server for the node; nd.mu is held (or the node is not
// shared yet).
func (nd *Node) start(addr string) {
	cl := nd.cl
	cfg := defaultConfig()
	for _, o := range cl.opts {
		if o != nil {
			o(&cfg)
		}
	}
	nd.starts++
	cfg.addr = addr
	cfg.serverID = fmt.Sprintf("sodptest-go-node%d.%d", nd.index+1, nd.starts)
	cl.mu.Lock()
	cfg.preload = make(map[string]storedKey, len(cl.store))
	for k, e := range cl.store {
		cfg.preload[k] = e
	}
	cl.mu.Unlock()
	cfg.applied = func(key string, v uint64, ops []delta.Op, value any, initialized, relayed bool) {
		cl.applied(nd, relay{key: key, version: v, ops: ops, value: value, initialized: initialized}, relayed)
	}
	nd.srv = startServer(cfg)
}

// applied records a change a node applied in the store and, for the node's
// own changes, relays it to the other nodes. It runs under that node's
// server lock.
func (cl *Cluster) applied(from *Node, r relay, relayed bool) {
	cl.mu.Lock()
	if e, ok := cl.store[r.key]; !ok || r.version > e.version {
		cl.store[r.key] = storedKey{value: r.value, version: r.version, initialized: r.initialized}
	}
	if !relayed {
		for _, nd := range cl.nodes {
			if nd != from {
				nd.queue = append(nd.queue, r)
			}
		}
	}
	cl.mu.Unlock()
	if !relayed {
		cl.cond.Broadcast()
	}
}

// deliver applies the relays queued for nd, in order, until the cluster
// closes.
func (cl *Cluster) deliver(nd *Node) {
	defer cl.wg.Done()
	for {
		cl.mu.Lock()
		for !cl.closed && (cl.partitioned || len(nd.queue) == 0) {
			cl.cond.Wait()
		}
		if cl.closed {
			cl.mu.Unlock()
			return
		}
		r := nd.queue[0]
		nd.queue[0] = relay{}
		nd.queue = nd.queue[1:]
		if len(nd.queue) == 0 {
			nd.queue = nil
		}
		nd.inFlight = true
		cl.mu.Unlock()

		nd.mu.Lock()
		if s := nd.srv; s != nil {
			s.mu.Lock()
			s.applyRelayLocked(r.key, r.version, r.ops, r.value, r.initialized)
			s.mu.Unlock()
		}
		nd.mu.Unlock()

		cl.mu.Lock()
		nd.inFlight = false
		cl.mu.Unlock()
		cl.cond.Broadcast()
	}
}

// stop takes the node down: frozen, relays out, connections closed.
func (nd *Node) stop(graceful bool) {
	nd.mu.Lock()
	s := nd.srv
	nd.srv = nil
	nd.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	s.frozen = true
	s.mu.Unlock()
	// What the node changed reaches the others before its clients can
	// fail over to them.
	nd.cl.Settle()
	if graceful {
		var wait []*Conn
		for _, c := range s.Conns() {
			c.closeAfter(closeGraceful, websocket.CloseGoingAway, "server shutting down")
			wait = append(wait, c)
		}
		deadline := time.After(closeLinger)
	loop:
		for _, c := range wait {
			select {
			case <-c.finished:
			case <-deadline:
				break loop
			}
		}
	}
	s.Close()
}
