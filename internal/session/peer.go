package session

// peer is what the actor knows of the server of the current connection,
// from the dial to the next one. It is the actor's.
type peer struct {
	info     ServerInfo // what the handshake told (published.server publishes it once live)
	helloID  string     // the server identity HELLO announced (server_id), "" if none
	authSent bool       // AUTH went out on this connection
	// source names the server of the live connection (endpoint and
	// identity): a key's version is comparable only with those of the
	// server it came from. It is kept from going live to the next time.
	source string
}

// dialed starts over for a new connection to endpoint (as shown in logs
// and errors).
func (p *peer) dialed(endpoint string) {
	p.info = ServerInfo{Endpoint: endpoint}
	p.helloID, p.authSent = "", false
}

// live names the server of the connection to endpoint that went live.
func (p *peer) live(endpoint string) { p.source = endpoint + "\x00" + p.helloID }
