package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/opencarkey/sdk/apdutrace"
)

// traceDecode is dkey trace decode.
func traceDecode(e *env, args []string) error {
	fs := newFlags(e, "trace decode")
	keyLogPath := fs.String("keylog", "", "key log `FILE` that decrypts the sessions it covers")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	if err := parse(e, fs, "trace decode", args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("trace decode: want one TRACE file, or - for standard input (see dkey trace decode -h)")
	}
	path := fs.Arg(0)
	text, err := readInput(e, path)
	if err != nil {
		return err
	}
	trace, err := apdutrace.Parse(text)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var keys *apdutrace.KeyLog
	if *keyLogPath != "" {
		b, err := os.ReadFile(*keyLogPath)
		if err != nil {
			return err
		}
		if keys, err = apdutrace.ParseKeyLog(b); err != nil {
			return fmt.Errorf("%s: %w", *keyLogPath, err)
		}
		e.progress("key log %s: %d entries", *keyLogPath, keys.Len())
	}
	e.progress("decoding %d exchanges of %s", len(trace), path)
	report := apdutrace.Decode(trace, keys)
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(report)
	} else {
		err = report.WriteText(e.stdout)
	}
	if err != nil {
		return err
	}
	var protected, verified, problems int
	for _, s := range report.Steps {
		problems += len(s.Problems)
		for _, m := range []*apdutrace.Message{s.Request, s.Reply} {
			if m != nil && m.SecureMessaging != nil {
				protected++
				if m.SecureMessaging.Verified {
					verified++
				}
			}
		}
	}
	e.progress("%d exchanges, %d protected messages, %d verified and decrypted, %d problems", len(report.Steps), protected, verified, problems)
	return nil
}

// readInput reads a file, or standard input for "-", within the trace size
// limit.
func readInput(e *env, path string) ([]byte, error) {
	var r io.Reader = e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, apdutrace.MaxTraceSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}
