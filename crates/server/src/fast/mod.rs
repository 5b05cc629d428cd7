//! A plain-HTTP/1.1 path that sends library files with `sendfile(2)` (Linux).
//!
//! hyper copies every body through user space and has no way to be handed a file
//! (hyperium/hyper#3026), so each byte of a movie is copied twice more than nginx copies it:
//! `pread` into a buffer, then `write` into the socket. On loopback with random 1 MiB ranges
//! that costs a third of the throughput. No crate does this for hyper, hence this module.
//!
//! On cleartext connections it reads request heads itself and takes only the plainest ones
//! (see [`head`]): `GET`/`HEAD` with no body of anything but live streams and the API, so
//! that a browser's whole visit to the library, movie ranges included, can stay here. Those run through the same router
//! as every request (auth gate, request log, handler); when the handler marks its body as a
//! file region ([`FileRegion`](crate::media::FileRegion)), the head is written here and the
//! kernel copies the bytes. From the first request it does not take, the connection is
//! hyper's, with the bytes read so far in front: errors, HTTP/2, upgrades and request bodies
//! keep hyper's handling.

mod conn;
mod head;
mod response;
mod send;

pub use conn::serve;
