// Package mailtest runs a real SMTP server (emersion/go-smtp) in tests that
// keeps every message it receives, parses its MIME parts, and can be stopped
// and started again on the same address to play an outage.
package mailtest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is a delivered mail, parsed.
type Message struct {
	From, To    string
	Subject     string
	ContentType string // of the whole message: multipart/alternative
	Text, HTML  string
	Raw         []byte
}

var (
	linkPattern = regexp.MustCompile(`https?://\S+\?token=([A-Za-z0-9_%-]+)`)
	codePattern = regexp.MustCompile(`(?m)^\s+(\d{8})\s*$`)
)

// Link returns the link in the text part and its token.
func (m Message) Link() (link, token string) {
	match := linkPattern.FindStringSubmatch(m.Text)
	if match == nil {
		return "", ""
	}
	return match[0], match[1]
}

// Code returns the 8-digit code on a line of its own in the text part.
func (m Message) Code() string {
	match := codePattern.FindStringSubmatch(m.Text)
	if match == nil {
		return ""
	}
	return match[1]
}

// Server is a capturing SMTP server on 127.0.0.1.
type Server struct {
	t    testing.TB
	addr string

	mu       sync.Mutex
	messages []Message
	arrived  chan struct{}
	srv      *smtp.Server
}

// Start runs a server on a free loopback port, closed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, arrived: make(chan struct{}, 1000)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

// URL is the AUTH_SMTP_URL of this server (plain SMTP on loopback).
func (s *Server) URL() string { return "smtp://" + s.addr }

func (s *Server) serve(ln net.Listener) {
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Stop takes the server down: deliveries fail until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Restart brings the server back on the same address.
func (s *Server) Restart() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may take a moment to be free again
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.serve(ln)
}

// Messages returns every message received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// To returns the messages received for an address.
func (s *Server) To(addr string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		if strings.EqualFold(m.To, addr) {
			out = append(out, m)
		}
	}
	return out
}

// Wait returns the n-th message (from 1) to an address, waiting up to 10 s.
func (s *Server) Wait(addr string, n int) Message {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if ms := s.To(addr); len(ms) >= n {
			return ms[n-1]
		}
		select {
		case <-s.arrived:
		case <-deadline:
			s.t.Fatalf("mailtest: no message %d to %s within 10 s (have %d)", n, addr, len(s.To(addr)))
		}
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s        *Server
	from, to string
}

func (x *session) AuthPlain(string, string) error              { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error { x.from = from; return nil }
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error   { x.to = to; return nil }
func (x *session) Reset()                                      {}
func (x *session) Logout() error                               { return nil }

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return err
	}
	m.From, m.To = x.from, x.to
	x.s.mu.Lock()
	x.s.messages = append(x.s.messages, m)
	x.s.mu.Unlock()
	x.s.arrived <- struct{}{}
	return nil
}

// parse reads a message and its text and HTML parts.
func parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	m := Message{Subject: subject, ContentType: msg.Header.Get("Content-Type"), Raw: raw}
	mt, params, err := mime.ParseMediaType(m.ContentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return m, errors.New("mailtest: not a multipart message: " + m.ContentType)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return m, err
		}
		body, err := io.ReadAll(decodePart(p))
		if err != nil {
			return m, err
		}
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			m.Text = string(body)
		case "text/html":
			m.HTML = string(body)
		}
	}
}

// decodePart undoes a part's transfer encoding (multipart.Reader does
// quoted-printable itself).
func decodePart(p *multipart.Part) io.Reader {
	if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
		return newBase64(p)
	}
	return p
}
