package media

import (
	"net/netip"
	"testing"
)

func TestPublic(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true},
		{"93.184.216.34", true},
		{"2606:4700:4700::1111", true},
		{"2001:4860:4860::8888", true},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8

		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"::1", false},
		{"::ffff:127.0.0.1", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"10.0.0.1", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"::ffff:169.254.169.254", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"192.0.0.8", false},
		{"192.0.2.1", false},
		{"198.18.0.1", false},
		{"198.51.100.1", false},
		{"203.0.113.1", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"fec0::1", false},
		{"ff02::1", false},
		{"::7f00:1", false},        // IPv4-compatible 127.0.0.1
		{"::ffff:0:7f00:1", false}, // IPv4-translated 127.0.0.1
		{"64:ff9b::7f00:1", false}, // NAT64 of 127.0.0.1
		{"64:ff9b::a00:1", false},  // NAT64 of 10.0.0.1
		{"64:ff9b:1::1", false},
		{"100::1", false},
		{"2001::1", false},       // Teredo
		{"2001:db8::1", false},   // documentation
		{"2002:7f00:1::", false}, // 6to4 of 127.0.0.1
		{"3fff::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := public(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("public(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
	if public(netip.Addr{}) {
		t.Error("the zero Addr is public")
	}
}

// FuzzPublic: an IPv4 address and its IPv4-mapped IPv6 form are judged
// alike, and nothing in the private or loopback ranges passes.
func FuzzPublic(f *testing.F) {
	f.Add([]byte{127, 0, 0, 1})
	f.Add([]byte{8, 8, 8, 8})
	f.Add([]byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		got := public(ip)
		if ip.Is4() && public(netip.AddrFrom16(ip.As16())) != got {
			t.Errorf("%s and its mapped form are judged differently", ip)
		}
		u := ip.Unmap()
		if got && (u.IsLoopback() || u.IsPrivate() || u.IsLinkLocalUnicast() || u.IsMulticast() || u.IsUnspecified()) {
			t.Errorf("public(%s) = true", ip)
		}
	})
}
