package main

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestReplaceRoute runs only inside a throwaway network namespace prepared by hand:
//
//	ip netns add pgtest; ip -n pgtest link add v0 type veth peer name v1
//	ip -n pgtest addr add 172.31.250.1/24 dev v0; ip -n pgtest link set v0 up
//	PGCHAOS_NETNS_TEST=1 ip netns exec pgtest go test ./clusters/nodeimage/podroutes
func TestReplaceRoute(t *testing.T) {
	if os.Getenv("PGCHAOS_NETNS_TEST") != "1" {
		t.Skip("set PGCHAOS_NETNS_TEST=1 and run inside a scratch network namespace")
	}
	_, dst, _ := net.ParseCIDR("10.244.7.0/24")
	for _, gw := range []string{"172.31.250.2", "172.31.250.3"} {
		if err := replaceRoute(dst, net.ParseIP(gw)); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("ip", "route", "show", "10.244.7.0/24").CombinedOutput()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "via "+gw) {
			t.Fatalf("route after replace: %q, want via %s", out, gw)
		}
	}
}
