//! UDP socket setup: resolution, TTL, multicast membership and interface,
//! receive buffer size and kernel drop reporting (SO_RXQ_OVFL).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// IPv4 default multicast group of the protocol.
pub const DEFAULT_GROUP_V4: Ipv4Addr = Ipv4Addr::new(239, 192, 74, 66);
/// IPv6 default multicast group of the protocol (ff18::efc0:4a42).
pub const DEFAULT_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff18, 0, 0, 0, 0, 0, 0xefc0, 0x4a42);

/// Resolves `node`/`service` (numeric port, or a name from /etc/services).
pub fn resolve(node: &str, service: &str) -> std::io::Result<Vec<SocketAddr>> {
    let port: u16 = match service.parse() {
        Ok(p) => p,
        Err(_) => service_port(service).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("unknown service {service:?}"),
            )
        })?,
    };
    let node = node.trim_start_matches('[').trim_end_matches(']');
    Ok((node, port).to_socket_addrs()?.collect())
}

fn service_port(name: &str) -> Option<u16> {
    let text = std::fs::read_to_string("/etc/services").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        let n = f.next()?;
        let (port, proto) = f.next()?.split_once('/')?;
        let aliases: Vec<&str> = f.take_while(|a| !a.starts_with('#')).collect();
        ((n == name || aliases.contains(&name)) && proto == "udp")
            .then(|| port.parse().ok())
            .flatten()
    })
}

fn setsockopt_int(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> std::io::Result<()> {
    // SAFETY: `value` lives for the call and its size is passed; the fd is
    // owned by the caller and open.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Interface index of a name (0 if unknown).
pub fn if_index(name: &str) -> u32 {
    nix::net::if_::if_nametoindex(name).unwrap_or(0)
}

fn is_multicast(a: &SocketAddr) -> bool {
    a.ip().is_multicast()
}

/// Creates a sending socket for `dest`: optional source address, TTL /
/// hop limit (multicast or unicast) and outgoing interface.
pub fn sender_socket(
    dest: &SocketAddr,
    bind: Option<IpAddr>,
    ttl: Option<u32>,
    interface: Option<&str>,
) -> std::io::Result<UdpSocket> {
    let local: SocketAddr = match (bind, dest) {
        (Some(ip), _) => SocketAddr::new(ip, 0),
        (None, SocketAddr::V4(_)) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        (None, SocketAddr::V6(_)) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let s = UdpSocket::bind(local)?;
    if let Some(ttl) = ttl {
        let r = match (dest, is_multicast(dest)) {
            (SocketAddr::V4(_), true) => s.set_multicast_ttl_v4(ttl),
            (SocketAddr::V4(_), false) => s.set_ttl(ttl),
            (SocketAddr::V6(_), true) => setsockopt_int(
                &s,
                libc::IPPROTO_IPV6,
                libc::IPV6_MULTICAST_HOPS,
                ttl as i32,
            ),
            (SocketAddr::V6(_), false) => {
                setsockopt_int(&s, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, ttl as i32)
            }
        };
        if let Err(e) = r {
            log::error!("setting TimeToLive {ttl} failed: {e}");
        }
    }
    if let Some(name) = interface {
        let idx = if_index(name);
        if idx == 0 {
            log::error!("unknown interface {name:?}");
        } else if is_multicast(dest) {
            let r = match dest {
                SocketAddr::V4(_) => {
                    let mreq = libc::ip_mreqn {
                        imr_multiaddr: libc::in_addr { s_addr: 0 },
                        imr_address: libc::in_addr { s_addr: 0 },
                        imr_ifindex: idx as i32,
                    };
                    setsockopt_raw(&s, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreq)
                }
                SocketAddr::V6(_) => {
                    setsockopt_int(&s, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF, idx as i32)
                }
            };
            if let Err(e) = r {
                log::error!("setting multicast interface {name}: {e}");
            }
        } else if let Err(e) = bind_to_device(&s, name) {
            log::error!("binding to interface {name}: {e}");
        }
    }
    Ok(s)
}

fn setsockopt_raw<T>(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> std::io::Result<()> {
    // SAFETY: `value` is a valid, initialised T for the duration of the call
    // and its exact size is passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn bind_to_device(fd: &impl AsRawFd, name: &str) -> std::io::Result<()> {
    let mut buf = [0u8; libc::IFNAMSIZ];
    let n = name.len().min(libc::IFNAMSIZ - 1);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    setsockopt_raw(fd, libc::SOL_SOCKET, libc::SO_BINDTODEVICE, &buf)
}

/// Creates a bound listening socket: SO_REUSEADDR, SO_RCVBUF, SO_RXQ_OVFL,
/// a short read timeout (so the thread can notice shutdown), and multicast
/// membership (loopback off, as collectd) when `addr` is a group.
pub fn listen_socket(
    addr: &SocketAddr,
    interface: Option<&str>,
    rcvbuf: usize,
) -> std::io::Result<UdpSocket> {
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::IPPROTO_UDP,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a freshly created, valid descriptor that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    setsockopt_int(&owned, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    if addr.is_ipv6() {
        // Bind v6 sockets to v6 only, so a separate v4 Listen can share the port.
        let _ = setsockopt_int(&owned, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1);
    }
    let rcv = i32::try_from(rcvbuf).unwrap_or(i32::MAX);
    if setsockopt_int(&owned, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, rcv).is_err() {
        setsockopt_int(&owned, libc::SOL_SOCKET, libc::SO_RCVBUF, rcv)?;
    }
    setsockopt_int(&owned, libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1)?;
    let sa = nix::sys::socket::SockaddrStorage::from(*addr);
    nix::sys::socket::bind(owned.as_raw_fd(), &sa).map_err(std::io::Error::from)?;
    let s = UdpSocket::from(owned);
    let ifidx = interface.map(if_index).unwrap_or(0);
    match addr.ip() {
        IpAddr::V4(g) if g.is_multicast() => {
            s.set_multicast_loop_v4(false)?;
            let mreq = libc::ip_mreqn {
                imr_multiaddr: libc::in_addr {
                    s_addr: u32::from(g).to_be(),
                },
                imr_address: libc::in_addr { s_addr: 0 },
                imr_ifindex: ifidx as i32,
            };
            setsockopt_raw(&s, libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreq)?;
        }
        IpAddr::V6(g) if g.is_multicast() => {
            s.set_multicast_loop_v6(false)?;
            s.join_multicast_v6(&g, ifidx)?;
        }
        _ => {
            if let Some(name) = interface {
                bind_to_device(&s, name)?;
            }
        }
    }
    s.set_read_timeout(Some(std::time::Duration::from_millis(200)))?;
    Ok(s)
}

/// Effective SO_RCVBUF of a socket (the kernel reports twice the payload size).
pub fn receive_buffer(s: &UdpSocket) -> usize {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid out-pointers of the advertised size.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r == 0 {
        v.max(0) as usize
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_numeric_and_default_groups() {
        let a = resolve("127.0.0.1", "25826").unwrap();
        assert_eq!(a, vec!["127.0.0.1:25826".parse().unwrap()]);
        let b = resolve("[::1]", "1").unwrap();
        assert_eq!(b[0].ip(), IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert!(resolve("127.0.0.1", "no-such-service-xyz").is_err());
        assert_eq!(DEFAULT_GROUP_V6.to_string(), "ff18::efc0:4a42");
        assert!(DEFAULT_GROUP_V4.is_multicast());
    }

    #[test]
    fn listen_and_send_on_loopback() {
        let l = listen_socket(&"127.0.0.1:0".parse().unwrap(), None, 1 << 20).unwrap();
        assert!(receive_buffer(&l) >= 4096);
        let dest = l.local_addr().unwrap();
        let s = sender_socket(&dest, None, Some(3), None).unwrap();
        s.send_to(b"hello", dest).unwrap();
        let mut b = [0u8; 16];
        let (n, _) = l.recv_from(&mut b).unwrap();
        assert_eq!(&b[..n], b"hello");
    }

    #[test]
    fn ipv6_loopback() {
        let Ok(l) = listen_socket(&"[::1]:0".parse().unwrap(), None, 1 << 20) else {
            eprintln!("no IPv6 loopback on this host; skipped");
            return;
        };
        let dest = l.local_addr().unwrap();
        let s = sender_socket(&dest, None, Some(2), None).unwrap();
        s.send_to(b"v6", dest).unwrap();
        let mut b = [0u8; 4];
        let (n, from) = l.recv_from(&mut b).unwrap();
        assert_eq!(&b[..n], b"v6");
        assert!(from.is_ipv6());
    }
}
