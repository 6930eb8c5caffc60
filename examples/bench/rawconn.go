package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// rawConn is a WebSocket connection made by hand: a socket and nothing
// else on the client side, so that measuring it measures the server.
type rawConn struct {
	nc net.Conn
	br *bufio.Reader
}

func rawDial(addr string) (*rawConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 512)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		return nil, fmt.Errorf("upgrade refused: %s", resp.Status)
	}
	return &rawConn{nc: nc, br: br}, nil
}

// send writes payload as one masked binary frame (the mask key is zero, so
// the payload goes as is).
func (c *rawConn) send(payload []byte) error {
	b := []byte{0x82}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, 0, 0, 0, 0)
	b = append(b, payload...)
	_, err := c.nc.Write(b)
	return err
}

// countFrames reads and discards the server's frames, counting them, until
// the connection ends.
func (c *rawConn) countFrames(n *atomic.Int64) {
	var h [8]byte
	for {
		if _, err := io.ReadFull(c.br, h[:2]); err != nil {
			return
		}
		size := uint64(h[1] & 0x7f)
		switch size {
		case 126:
			if _, err := io.ReadFull(c.br, h[:2]); err != nil {
				return
			}
			size = uint64(binary.BigEndian.Uint16(h[:2]))
		case 127:
			if _, err := io.ReadFull(c.br, h[:8]); err != nil {
				return
			}
			size = binary.BigEndian.Uint64(h[:8])
		}
		if _, err := c.br.Discard(int(size)); err != nil {
			return
		}
		n.Add(1)
	}
}
