package main

import (
	"context"
	"fmt"

	"github.com/sodp-go/client/sodp"
)

// The room: the cursors of a shared document in one key, one entry per
// user, each DELTA moving one cursor (its x), as the protocol's presence
// demo keeps them. Watched whole as any, as map[string]Cursor and as
// sodp.Map[Cursor], and with WatchPath on the one cursor that moves.

// Cursor is one entry of the room.
type Cursor struct {
	X    float64 `msgpack:"x"`
	Y    float64 `msgpack:"y"`
	Name string  `msgpack:"name"`
}

func roomKey(i int) string { return fmt.Sprintf("u%05d", i) }

// roomShape is a room of n cursors whose DELTAs move one cursor after
// the other (a stride through the keys, so that consecutive DELTAs touch
// entries far apart).
func roomShape(name string, n int, fanOut bool) *shape {
	initial := make(map[string]any, n)
	for i := range n {
		initial[roomKey(i)] = map[string]any{"x": float64(i), "y": 0.5, "name": "user " + roomKey(i)}
	}
	paths := make([]string, n)
	for i := range paths {
		paths[i] = "/" + roomKey((i*7919)%n) + "/x"
	}
	return &shape{name: name, initial: initial, paths: paths, fanOut: fanOut, room: true}
}

// roomTypes are the subscriber types of the room cases: any, map
// (map[string]Cursor), Map (sodp.Map[Cursor]) and path (WatchPath of the
// cursor that moves, as Cursor: the stream then moves that one alone).
var roomTypes = []string{"any", "map", "Map", "path"}

// roomTarget returns the target of a room case's cost per update against
// flat10's, one client.
func roomTarget(sh *shape, clients int, typ string) *target {
	if typ != "Map" || clients != 1 {
		return nil
	}
	switch len(sh.initial) {
	case 1000:
		return atMostTimes(3)
	case 10000:
		return atMostTimes(5)
	}
	return nil
}

// pathShape is sh with every DELTA moving the first cursor.
func pathShape(sh *shape) *shape {
	return &shape{name: sh.name, initial: sh.initial, path: "/" + roomKey(0) + "/x"}
}

func useRoomAny(v any) int64 {
	m, _ := v.(map[string]any)
	c, _ := m[roomKey(0)].(map[string]any)
	x, _ := c["x"].(float64)
	return int64(x) + int64(len(m))
}

func useRoomMap(v map[string]Cursor) int64 { return int64(v[roomKey(0)].X) + int64(len(v)) }

func useRoomPmap(v sodp.Map[Cursor]) int64 {
	c, _ := v.Get(roomKey(0))
	return int64(c.X) + int64(v.Len())
}

func useCursor(c Cursor) int64 { return int64(c.X) }

// runRoom runs the clients of one room case.
func runRoom(ctx context.Context, cfg *config, sh *shape, n, window int, typ string) (result, error) {
	switch typ {
	case "any":
		return runClients(ctx, cfg, sh, n, window, useRoomAny)
	case "map":
		return runClients(ctx, cfg, sh, n, window, useRoomMap)
	case "Map":
		return runClients(ctx, cfg, sh, n, window, useRoomPmap)
	}
	return runWatch(ctx, cfg, pathShape(sh), n, window, useCursor, func(ctx context.Context, c *sodp.Client, key string, opts ...sodp.WatchOption) (*sodp.Subscription[Cursor], error) {
		return sodp.WatchPath[Cursor](ctx, c, key, "/"+roomKey(0), opts...)
	})
}
