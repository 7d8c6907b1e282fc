// bench_qmp_govmm: the QMP throughput benchmark's Go column, through Kata
// Containers' govmm (github.com/kata-containers/govmm/qemu, Debian's
// golang-github-kata-containers-govmm-dev), as the Kata runtime drives QEMU:
// qemu.QMPStart, ExecuteQMPCapabilities, then N ExecuteQueryStatus.
//
//	bench_qmp_govmm SOCKET N serial      one goroutine, one command at a time
//	bench_qmp_govmm SOCKET N pipelined   N goroutines, one command each;
//	                                     govmm queues them and still sends
//	                                     the next only after the previous
//	                                     reply (it cannot pipeline)
//
// SOCKET is QEMU's `-qmp unix:SOCKET,server=on,wait=off`, as for
// bench_qmp_bare; the connect is retried for up to 10 s while QEMU starts.
// The greeting and qmp_capabilities are not timed. Each reply is checked
// (status "prelaunch"). Prints, for the N commands only, the lines
// bench_qmp_bare prints: cmds_per_s, wall_ms, cpu_us_per_cmd (this
// process's user + system CPU from getrusage / N).
//
// Built in GOPATH mode by bench/govmm.sh (no module, no network).
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/kata-containers/govmm/qemu"
)

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "bench_qmp_govmm: "+format+"\n", a...)
	os.Exit(1)
}

func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		die("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	if len(os.Args) != 4 || (os.Args[3] != "serial" && os.Args[3] != "pipelined") {
		die("usage: bench_qmp_govmm SOCKET N serial|pipelined")
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		die("N must be a positive integer")
	}
	ctx := context.Background()
	var q *qemu.QMP
	for deadline := time.Now().Add(10 * time.Second); ; {
		disconnected := make(chan struct{})
		q, _, err = qemu.QMPStart(ctx, os.Args[1], qemu.QMPConfig{}, disconnected)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			die("connect %s: %v", os.Args[1], err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := q.ExecuteQMPCapabilities(ctx); err != nil {
		die("qmp_capabilities: %v", err)
	}
	query := func() error {
		st, err := q.ExecuteQueryStatus(ctx)
		if err != nil {
			return err
		}
		if st.Status != "prelaunch" {
			return fmt.Errorf("unexpected status %q", st.Status)
		}
		return nil
	}

	t0, c0 := time.Now(), cpu()
	if os.Args[3] == "serial" {
		for i := 0; i < n; i++ {
			if err := query(); err != nil {
				die("query-status: %v", err)
			}
		}
	} else {
		var wg sync.WaitGroup
		var once sync.Once
		var failed error
		wg.Add(n)
		for i := 0; i < n; i++ {
			go func() {
				defer wg.Done()
				if err := query(); err != nil {
					once.Do(func() { failed = err })
				}
			}()
		}
		wg.Wait()
		if failed != nil {
			die("query-status: %v", failed)
		}
	}
	wall, used := time.Since(t0), cpu()-c0
	fmt.Printf("cmds_per_s %.0f\nwall_ms %.1f\ncpu_us_per_cmd %.2f\n", float64(n)/wall.Seconds(),
		float64(wall.Microseconds())/1000, float64(used.Microseconds())/float64(n))
	q.Shutdown()
}
