//! Resuming: `c`, `C`, `s`, `S`, `vCont`, `vCont?`, and the reverse `bc`,
//! `bs`. Signals given with `C`/`S` are accepted and ignored: a replay
//! cannot deliver a signal the recording did not have.

use super::{thread, Command, ThreadSel};
use crate::hex;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResumeRequest {
    Continue,
    /// Step one thread: the one named, or for `None` the `Hc` thread (or
    /// the current thread when `Hc` named none).
    Step(Option<ThreadSel>),
}

pub(crate) fn parse(packet: &[u8]) -> Command<'_> {
    let parsed = match packet {
        b"c" => Some(Command::Resume(ResumeRequest::Continue)),
        b"s" => Some(Command::Resume(ResumeRequest::Step(None))),
        [b'C', args @ ..] => valid_signal(args).then_some(Command::Resume(ResumeRequest::Continue)),
        [b'S', args @ ..] => {
            valid_signal(args).then_some(Command::Resume(ResumeRequest::Step(None)))
        }
        b"bc" => Some(Command::ReverseResume(ResumeRequest::Continue)),
        b"bs" => Some(Command::ReverseResume(ResumeRequest::Step(None))),
        // The old baud-rate `b` and anything else starting with b.
        [b'b', ..] => return Command::Unsupported,
        b"vCont?" => Some(Command::ResumeQuery),
        [b'v', b'C', b'o', b'n', b't', b';', actions @ ..] => {
            parse_vcont(actions).map(Command::Resume)
        }
        // `c addr` / `s addr` (resume elsewhere): gdb stopped sending them;
        // moving the pc behind the replay's back would break it anyway.
        _ => None,
    };
    parsed.unwrap_or(Command::Malformed)
}

/// `sig` or `sig;addr`; the address form is refused like `c addr`.
fn valid_signal(args: &[u8]) -> bool {
    args.len() == 2 && hex::parse_u64(args).is_some()
}

/// `action[:thread](;action[:thread])*`. All-stop: a step of any thread
/// makes the resume a step of that thread, else any continue continues.
fn parse_vcont(actions: &[u8]) -> Option<ResumeRequest> {
    let mut step = None;
    let mut continues = false;
    for item in actions.split(|&b| b == b';') {
        let (action, thread) = match super::split_at_byte(item, b':') {
            Some((action, id)) => (action, Some(thread::parse_thread_id(id)?)),
            None => (item, None),
        };
        let stepping = match action {
            b"c" => false,
            b"s" => true,
            [b'C', sig @ ..] if valid_signal(sig) => false,
            [b'S', sig @ ..] if valid_signal(sig) => true,
            // `t` (stop) and `r` (range step) are not offered in vCont?.
            _ => return None,
        };
        if stepping {
            // The leftmost action for a thread wins; a thread-less step
            // steps the Hc/current thread.
            let target = match thread {
                Some(ThreadSel::Thread { .. }) => thread,
                _ => None,
            };
            step.get_or_insert(target);
        } else {
            continues = true;
        }
    }
    match step {
        Some(thread) => Some(ResumeRequest::Step(thread)),
        None if continues => Some(ResumeRequest::Continue),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(pid: i32, tid: i32) -> Command<'static> {
        Command::Resume(ResumeRequest::Step(Some(ThreadSel::Thread {
            pid: Some(pid),
            tid,
        })))
    }

    #[test]
    fn plain_resumes() {
        assert_eq!(parse(b"c"), Command::Resume(ResumeRequest::Continue));
        assert_eq!(parse(b"s"), Command::Resume(ResumeRequest::Step(None)));
        assert_eq!(parse(b"C0b"), Command::Resume(ResumeRequest::Continue));
        assert_eq!(parse(b"S05"), Command::Resume(ResumeRequest::Step(None)));
        assert_eq!(parse(b"C0b;401000"), Command::Malformed);
        assert_eq!(parse(b"c401000"), Command::Malformed);
        assert_eq!(parse(b"C"), Command::Malformed);
        assert_eq!(parse(b"Cxx"), Command::Malformed);
    }

    #[test]
    fn reverse() {
        assert_eq!(
            parse(b"bc"),
            Command::ReverseResume(ResumeRequest::Continue)
        );
        assert_eq!(
            parse(b"bs"),
            Command::ReverseResume(ResumeRequest::Step(None))
        );
        assert_eq!(parse(b"b9600"), Command::Unsupported);
    }

    #[test]
    fn vcont() {
        assert_eq!(parse(b"vCont?"), Command::ResumeQuery);
        assert_eq!(parse(b"vCont;c"), Command::Resume(ResumeRequest::Continue));
        assert_eq!(parse(b"vCont;s:p1.2;c"), step(1, 2));
        assert_eq!(parse(b"vCont;c;s:p1.2"), step(1, 2));
        assert_eq!(parse(b"vCont;s:p1.2"), step(1, 2));
        assert_eq!(parse(b"vCont;S05:p1.3;C0b"), step(1, 3));
        assert_eq!(
            parse(b"vCont;s"),
            Command::Resume(ResumeRequest::Step(None))
        );
        assert_eq!(
            parse(b"vCont;c:p1.-1"),
            Command::Resume(ResumeRequest::Continue)
        );
        assert_eq!(parse(b"vCont;s:p1.2;s:p1.3"), step(1, 2));
        assert_eq!(parse(b"vCont;"), Command::Malformed);
        assert_eq!(parse(b"vCont;t:p1.2"), Command::Malformed);
        assert_eq!(parse(b"vCont;r1000,2000:p1.2"), Command::Malformed);
        assert_eq!(parse(b"vCont;s:zz"), Command::Malformed);
        assert_eq!(parse(b"vCont;x"), Command::Malformed);
        assert_eq!(parse(b"vContx"), Command::Malformed);
    }
}
