// bench_launch_govmm: the launch benchmark's govmm column. Does what
// bench_reference does (see reference.c) through Kata Containers' govmm
// (github.com/kata-containers/govmm/qemu, Debian's
// golang-github-kata-containers-govmm-dev), as the Kata runtime starts QEMU:
//
//	for each of N VMs, in a goroutine of its own, all N at once: a private
//	directory, qemu.LaunchCustomQemu with -daemonize (it returns once QEMU
//	has daemonized, i.e. once its sockets exist), the pidfile read,
//	qemu.QMPStart on the QMP socket, ExecuteQMPCapabilities, ExecuteQuit,
//	then wait for the QMP disconnect and for the QEMU process to be gone,
//	and remove the directory.
//
// usage: bench_launch_govmm [-r] N QEMU-ARGV...
//
//	QEMU-ARGV  the argv launch.sh passes to bench_reference (what
//	           `vclaunch --dry-run bench/launch.lua 1` prints), changed as
//	           bench_reference changes it (the value after -name becomes
//	           benchI, "<runtime-dir>/bench1-XXXXXX" VM I's directory) and
//	           for -daemonize (below)
//	-r         print "peak_rss_kib K" and "cpu_ms C" (this process only:
//	           getrusage RUSAGE_SELF, as bench_reference) on stderr at the end
//
// The argv differs from bench_reference's in three places, all because of
// -daemonize, without which LaunchCustomQemu (cmd.Run) would return only
// when QEMU exits:
//
//   - "-daemonize" is appended.
//   - "-chardev stdio,id=console" becomes "-chardev null,id=console": QEMU
//     refuses "cannot use stdio with -daemonize" (and a daemonized QEMU
//     points its stdout at /dev/null anyway). "-serial chardev:console"
//     stays. With -S and no kernel nothing is written to the console.
//   - "-chardev socket,id=qmp,fd=3,server=on,wait=off" becomes
//     "-chardev socket,id=qmp,path=DIR/qmp.sock,server=on,wait=off": QEMU
//     creates and listens on the socket itself, as Kata's QMP sockets are
//     passed; this side connects to it after LaunchCustomQemu returns
//     (QEMU signals its parent only after it has created its chardevs, so
//     no retry is needed).
//
// What differs in how the work is done: QEMU is not this process's child
// (-daemonize forks twice and calls setsid), so it is not reaped here; "gone"
// is a pidfd on the pidfile's pid becoming readable, which Linux signals when
// the process has exited (a zombie of its new parent counts). The pidfile is
// read right after the launch, since QEMU removes it when it exits. The child
// setup is LaunchCustomQemu's: stdin and stdout /dev/null, stderr a pipe read
// until EOF (QEMU points it at /dev/null before its parent returns), plus
// the process group and parent-death signal bench_reference sets (they reach
// only the first QEMU process, which exits once the daemon is ready).
//
// Built in GOPATH mode by bench/govmm.sh (no module, no network).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/kata-containers/govmm/qemu"
)

const placeholder = "<runtime-dir>/bench1-XXXXXX"

// The argv every VM shares, from the command line, and its program found
// along PATH once, before the first launch, as bench_reference and vclaunch
// do (exec.Command does not search PATH for a name with a slash).
var (
	qemuArgv []string
	exe      string
)

// argv returns the shared argv (without the program) for VM name, with its
// directory, changed for -daemonize as the comment at the top says, and the
// pidfile's path.
func argv(name, dir, sock string) (params []string, pidfile string, err error) {
	out := make([]string, 0, len(qemuArgv)+1)
	qmp := false
	for k := 1; k < len(qemuArgv); k++ {
		a, prev := qemuArgv[k], qemuArgv[k-1]
		switch {
		case prev == "-name":
			a = name
		case prev == "-chardev" && strings.HasPrefix(a, "stdio,"):
			a = "null," + strings.TrimPrefix(a, "stdio,")
		case prev == "-chardev" && strings.HasPrefix(a, "socket,"):
			opts := strings.Split(a, ",")
			for j, o := range opts {
				if o == "fd=3" {
					opts[j] = "path=" + strings.ReplaceAll(sock, ",", ",,")
					qmp = true
				}
			}
			a = strings.Join(opts, ",")
		}
		a = strings.ReplaceAll(a, placeholder, dir)
		if prev == "-pidfile" {
			pidfile = a
		}
		out = append(out, a)
	}
	// Without either, a failure would leave QEMU running or a hang.
	if !qmp {
		return nil, "", errors.New("no \"-chardev socket,...,fd=3\" (the QMP monitor) in the argv")
	}
	if pidfile == "" {
		return nil, "", errors.New("no -pidfile in the argv")
	}
	return append(out, "-daemonize"), pidfile, nil
}

// pidfd_open(2) and pidfd_send_signal(2): the same numbers on every
// architecture; not in Go 1.19's syscall package.
const (
	sysPidfdOpen       = 434
	sysPidfdSendSignal = 424
)

// pidfdOpen returns a nonblocking pidfd for pid. Being nonblocking,
// os.NewFile registers it with Go's netpoller: waiting on it parks a
// goroutine, not a thread (N threads blocked in poll would count in this
// process's RSS and CPU).
func pidfdOpen(pid int) (*os.File, error) {
	fd, _, e := syscall.Syscall(sysPidfdOpen, uintptr(pid), syscall.O_NONBLOCK, 0)
	if e != 0 {
		return nil, os.NewSyscallError("pidfd_open", e)
	}
	return os.NewFile(fd, "pidfd"), nil
}

// pidfdKill sends SIGKILL through the pidfd (f.Fd() would put the pidfd
// back in blocking mode).
func pidfdKill(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_, _, _ = syscall.Syscall6(sysPidfdSendSignal, fd, uintptr(syscall.SIGKILL), 0, 0, 0, 0)
		})
	}
}

type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

// waitGone returns once the process behind the pidfd has exited. RawConn.Read
// calls the function first and then after each readiness report; the
// function itself checks, with a zero-timeout ppoll, that the pidfd is
// readable.
func waitGone(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		p := pollFd{fd: int32(fd), events: 0x1 /* POLLIN */}
		var zero syscall.Timespec
		n, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1,
			uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
		if e == syscall.EINTR {
			return false
		}
		if e != 0 {
			perr = os.NewSyscallError("ppoll", e)
			return true
		}
		return n == 1
	})
	if err == nil {
		err = perr
	}
	return err
}

// launch runs VM i from its directory's creation to its removal.
func launch(i int) (err error) {
	name := fmt.Sprintf("bench%d", i+1)
	dir, err := os.MkdirTemp("", "vcgovmm-"+name+"-") // under TMPDIR
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir) // runs last: after QEMU is gone
	sock := dir + "/qmp.sock"
	params, pidfile, err := argv(name, dir, sock)
	if err != nil {
		return err
	}

	ctx := context.Background()
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if stderr, err := qemu.LaunchCustomQemu(ctx, exe, params, nil, attr, nil); err != nil {
		return fmt.Errorf("LaunchCustomQemu: %v: %s", err, strings.TrimSpace(stderr))
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("pidfile: %v", err)
	}
	pidfd, err := pidfdOpen(pid)
	if err != nil {
		return err
	}
	defer pidfd.Close()
	quit := false
	defer func() {
		// A failed step would leave the daemon running: it is no child of
		// ours and the parent-death signal does not reach it.
		if !quit {
			pidfdKill(pidfd)
		}
		if werr := waitGone(pidfd); werr != nil && err == nil {
			err = werr
		}
	}()

	// As long as the recipe's start{timeout = 600} and quit.
	qctx, cancel := context.WithTimeout(ctx, 600*time.Second)
	defer cancel()
	disconnected := make(chan struct{})
	q, _, err := qemu.QMPStart(qctx, sock, qemu.QMPConfig{}, disconnected)
	if err != nil {
		return fmt.Errorf("QMPStart: %v", err)
	}
	if err := q.ExecuteQMPCapabilities(qctx); err != nil {
		q.Shutdown()
		return fmt.Errorf("qmp_capabilities: %v", err)
	}
	if err := q.ExecuteQuit(qctx); err != nil {
		q.Shutdown()
		return fmt.Errorf("quit: %v", err)
	}
	quit = true
	select {
	case <-disconnected:
	case <-qctx.Done():
		q.Shutdown()
		return errors.New("QMP still connected 600 s after quit")
	}
	return nil
}

func main() {
	args := os.Args[1:]
	report := len(args) > 0 && args[0] == "-r"
	if report {
		args = args[1:]
	}
	n := 0
	if len(args) > 0 {
		n, _ = strconv.Atoi(args[0])
	}
	if n < 1 || len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench_launch_govmm [-r] N QEMU-ARGV... (N >= 1)")
		os.Exit(2)
	}
	qemuArgv = args[1:]
	var err error
	if exe, err = exec.LookPath(qemuArgv[0]); err != nil {
		fmt.Fprintf(os.Stderr, "bench_launch_govmm: %v\n", err)
		os.Exit(1)
	}

	errs := make([]error, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			defer wg.Done()
			errs[i] = launch(i)
		}(i)
	}
	wg.Wait()

	failed := false
	for i, err := range errs {
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench_launch_govmm: bench%d: %v\n", i+1, err)
			failed = true
		}
	}
	if report {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			fmt.Fprintf(os.Stderr, "bench_launch_govmm: getrusage: %v\n", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "peak_rss_kib %d\n", ru.Maxrss)
		fmt.Fprintf(os.Stderr, "cpu_ms %.2f\n",
			float64(ru.Utime.Nano()+ru.Stime.Nano())/float64(time.Millisecond))
	}
	if failed {
		os.Exit(1)
	}
}
