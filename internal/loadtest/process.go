package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"time"
)

// Proc is a child process under test: a server the bench measures.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // from Wait, once done is closed
}

// Start runs exe with args in the environment env. Its output goes to out
// (nil discards it). On Linux the child is killed if the parent dies, so an
// interrupted bench leaves no server behind.
func Start(name, exe string, args, env []string, out io.Writer) (*Proc, error) {
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Proc{Name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Exited is closed when the process has ended.
func (p *Proc) Exited() <-chan struct{} { return p.done }

// Stop asks the process to shut down (SIGINT, which Tokenhot's commands
// treat as a graceful stop), waits up to grace, then kills it. It returns
// nil if the process exited cleanly within grace.
func (p *Proc) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s: could not be interrupted (%v); killed", p.Name, err)
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return p.exitErr()
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s: did not stop within %v; killed", p.Name, grace)
	}
}

func (p *Proc) exitErr() error {
	if p.err != nil {
		return fmt.Errorf("%s: %w", p.Name, p.err)
	}
	return nil
}

// WaitReady polls url with GET until ok accepts the status, p exits, or
// timeout passes.
func WaitReady(ctx context.Context, p *Proc, url string, ok func(status int) bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if ok(resp.StatusCode) {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready: %v", p.Name, p.err)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w", p.Name, url, ctx.Err())
		case <-tick.C:
		}
	}
}

// FreeAddrs returns n distinct loopback addresses whose ports are free at
// the moment of the call, for children to listen on. All n listeners are
// held until every port is chosen, so the kernel cannot hand out one port
// twice (a child that then failed to bind would leave its address answered
// by another child, and the bench would measure the wrong server).
func FreeAddrs(n int) ([]string, error) {
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	addrs := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// ReadRSS returns a process's resident set size in bytes, from
// /proc/PID/status (Linux only).
func ReadRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	return parseVmRSS(b)
}

func parseVmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		v, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(v)
		if len(f) != 2 || string(f[1]) != "kB" {
			break
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, errors.New("no VmRSS line in /proc/PID/status")
}

// RSSSampler records the peak resident set size of a process.
type RSSSampler struct {
	peak    atomic.Int64
	samples atomic.Int64
	stop    chan struct{}
	done    chan struct{}
	err     error
}

// SampleRSS reads pid's RSS every interval until Stop.
func SampleRSS(pid int, every time.Duration) *RSSSampler {
	s := &RSSSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			rss, err := ReadRSS(pid)
			if err != nil {
				s.err = err
				return
			}
			s.samples.Add(1)
			if rss > s.peak.Load() {
				s.peak.Store(rss)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the peak and the number of samples.
func (s *RSSSampler) Stop() (peak int64, samples int, err error) {
	close(s.stop)
	<-s.done
	return s.peak.Load(), int(s.samples.Load()), s.err
}
