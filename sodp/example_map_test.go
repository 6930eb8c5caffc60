package sodp_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

func ExampleMap() {
	type Cursor struct {
		X, Y float64
	}
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("room.cursors", map[string]any{"alice": map[string]any{"X": 1, "Y": 1}, "bob": map[string]any{"X": 5, "Y": 5}})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	room, err := sodp.Watch[sodp.Map[Cursor]](ctx, client, "room.cursors", sodp.WithBuffer(64))
	if err != nil {
		log.Fatal(err)
	}
	defer room.Close()

	first := <-room.Updates()
	fmt.Println(first.Value.Len())
	srv.SetIn("room.cursors", "/bob/X", 6)
	srv.SetIn("room.cursors", "/carol", map[string]any{"X": 0, "Y": 9})
	for range 2 {
		u := <-room.Updates()
		keys, all := sodp.ChangedKeys(u.Changed)
		for _, k := range keys {
			c, ok := u.Value.Get(k)
			fmt.Println(k, c, ok, all)
		}
	}
	// The first value is unchanged: a Map never changes once delivered.
	bob, _ := first.Value.Get("bob")
	fmt.Println(bob, first.Value.Len())
	// Output:
	// 2
	// bob {6 5} true false
	// carol {0 9} true false
	// {5 5} 2
}
