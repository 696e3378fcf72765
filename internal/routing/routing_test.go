package routing

import (
	"testing"

	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/store"
)

func ch(id int64, prio, weight int) *catalog.Channel {
	return &catalog.Channel{Channel: store.Channel{ID: id, Priority: prio, Weight: weight}}
}

func TestPickPrefersTheLowestTier(t *testing.T) {
	a, b, c := ch(1, 0, 1), ch(2, 0, 3), ch(3, 1, 100)
	all := []*catalog.Channel{a, b, c}
	counts := map[int64]int{}
	for range 4000 {
		counts[Pick(all, nil).ID]++
	}
	if counts[3] != 0 {
		t.Fatalf("a lower tier was chosen while the first had candidates: %v", counts)
	}
	// Weighted 1:3; with 4000 draws the share of b is ~75% (±5% is > 10 sigma).
	if share := float64(counts[2]) / 4000; share < 0.70 || share > 0.80 {
		t.Fatalf("weights not honoured: %v", counts)
	}
}

func TestPickFailsOver(t *testing.T) {
	a, b, c := ch(1, 0, 1), ch(2, 0, 1), ch(3, 1, 1)
	all := []*catalog.Channel{a, b, c}
	if got := Pick(all, []*catalog.Channel{a}); got != b {
		t.Fatalf("got %v, want the other channel of the tier", got.ID)
	}
	if got := Pick(all, []*catalog.Channel{a, b}); got != c {
		t.Fatalf("got %v, want the next tier", got.ID)
	}
	if got := Pick(all, all); got != nil {
		t.Fatalf("got %v after every channel was tried", got.ID)
	}
	if got := Pick(nil, nil); got != nil {
		t.Fatal("picked from nothing")
	}
	// Zero weights are still usable.
	z := ch(4, 0, 0)
	if got := Pick([]*catalog.Channel{z}, nil); got != z {
		t.Fatal("zero-weight channel not used")
	}
}
