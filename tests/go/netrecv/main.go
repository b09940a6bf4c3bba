// Command netrecv is rcollectd's interop receiver: it listens on a UDP
// address and parses every datagram with go-collectd's network.Parse using
// the same ParseOpts the CloudWatch Agent builds (SecurityLevel,
// PasswordLookup from an AuthFile, TypesDB from types.db files). It prints
// one JSON line per parsed value list and one per rejected packet.
//
// Usage: netrecv -listen 127.0.0.1:25826 -level encrypt -authfile F -typesdb types.db
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"collectd.org/api"
	"collectd.org/network"
)

type vlOut struct {
	Kind           string    `json:"kind"`
	Host           string    `json:"host"`
	Plugin         string    `json:"plugin"`
	PluginInstance string    `json:"plugin_instance"`
	Type           string    `json:"type"`
	TypeInstance   string    `json:"type_instance"`
	Time           float64   `json:"time"`
	Interval       float64   `json:"interval"`
	Values         []float64 `json:"values"`
	DSNames        []string  `json:"dsnames"`
}

type errOut struct {
	Kind  string `json:"kind"`
	Error string `json:"error"`
	Bytes int    `json:"bytes"`
	Lists int    `json:"lists_before_error"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:25826", "UDP address")
	level := flag.String("level", "none", "none, sign or encrypt")
	authFile := flag.String("authfile", "", "collectd AuthFile")
	typesDB := flag.String("typesdb", "", "comma-separated types.db files")
	flag.Parse()

	// As the CloudWatch Agent's collectd parser: unknown levels mean none.
	opts := network.ParseOpts{}
	switch strings.ToLower(*level) {
	case "sign":
		opts.SecurityLevel = network.Sign
	case "encrypt":
		opts.SecurityLevel = network.Encrypt
	default:
		opts.SecurityLevel = network.None
	}
	if *authFile != "" {
		opts.PasswordLookup = network.NewAuthFile(*authFile)
	}
	for _, path := range strings.Split(*typesDB, ",") {
		if path == "" {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		db, err := api.NewTypesDB(f)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if opts.TypesDB == nil {
			opts.TypesDB = db
		} else {
			opts.TypesDB.Merge(db)
		}
	}

	addr, err := net.ResolveUDPAddr("udp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "listening on %s\n", conn.LocalAddr())
	enc := json.NewEncoder(os.Stdout)
	buf := make([]byte, 65536)
	for {
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		vls, err := network.Parse(buf[:n], opts)
		if err != nil {
			// The CloudWatch Agent discards the whole packet on error.
			enc.Encode(errOut{Kind: "error", Error: err.Error(), Bytes: n, Lists: len(vls)})
			continue
		}
		for _, vl := range vls {
			o := vlOut{
				Kind:           "values",
				Host:           vl.Host,
				Plugin:         vl.Plugin,
				PluginInstance: vl.PluginInstance,
				Type:           vl.Type,
				TypeInstance:   vl.TypeInstance,
				Time:           float64(vl.Time.UnixNano()) / 1e9,
				Interval:       vl.Interval.Seconds(),
				DSNames:        vl.DSNames,
			}
			for _, v := range vl.Values {
				switch x := v.(type) {
				case api.Gauge:
					o.Values = append(o.Values, float64(x))
				case api.Derive:
					o.Values = append(o.Values, float64(x))
				case api.Counter:
					o.Values = append(o.Values, float64(x))
				}
			}
			enc.Encode(o)
		}
	}
}
