//! Resuming: `c`, `C`, `s`, `S`, `vCont`, `vCont?`, and the reverse `bc`,
//! `bs`. A signal given with `C`/`S` goes to the target with the resume,
//! which decides what to do with it.

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
        b"c" => Some(Command::Resume(ResumeRequest::Continue, None)),
        b"s" => Some(Command::Resume(ResumeRequest::Step(None), None)),
        [b'C', args @ ..] => {
            signal(args).map(|signo| Command::Resume(ResumeRequest::Continue, Some(signo)))
        }
        [b'S', args @ ..] => {
            signal(args).map(|signo| Command::Resume(ResumeRequest::Step(None), Some(signo)))
        }
        b"bc" => Some(Command::ReverseResume(ResumeRequest::Continue)),
        b"bs" => Some(Command::ReverseResume(ResumeRequest::Step(None))),
        // The old baud-rate `b` and anything else starting with b.
        [b'b', ..] => return Command::Unsupported,
        b"vCont?" => Some(Command::ResumeQuery),
        [b'v', b'C', b'o', b'n', b't', b';', actions @ ..] => {
            parse_vcont(actions).map(|(request, signo)| Command::Resume(request, signo))
        }
        // `c addr` / `s addr` (resume elsewhere): gdb stopped sending them;
        // moving the pc behind the replay's back would break it anyway.
        _ => None,
    };
    parsed.unwrap_or(Command::Malformed)
}

/// `sig` (two hex digits, gdb's numbering) as a Linux signal; the
/// `sig;addr` form is refused like `c addr`.
fn signal(args: &[u8]) -> Option<i32> {
    (args.len() == 2).then_some(())?;
    crate::stop_reply::linux_signal(hex::parse_u64(args)?)
}

/// `action[:thread](;action[:thread])*`. All-stop: a step of any thread
/// makes the resume a step of that thread, else any continue continues.
/// The signal is the one of the first action that gives one (gdb gives
/// one at most, to the thread that received it).
fn parse_vcont(actions: &[u8]) -> Option<(ResumeRequest, Option<i32>)> {
    let mut step = None;
    let mut continues = false;
    let mut signo = None;
    for item in actions.split(|&b| b == b';') {
        let (action, thread) = match super::split_at_byte(item, b':') {
            Some((action, id)) => (action, Some(thread::parse_thread_id(id)?)),
            None => (item, None),
        };
        let stepping = match action {
            b"c" => false,
            b"s" => true,
            [b'C', sig @ ..] => {
                signo = signo.or(Some(signal(sig)?));
                false
            }
            [b'S', sig @ ..] => {
                signo = signo.or(Some(signal(sig)?));
                true
            }
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
        Some(thread) => Some((ResumeRequest::Step(thread), signo)),
        None if continues => Some((ResumeRequest::Continue, signo)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(pid: i32, tid: i32) -> Command<'static> {
        stepped(pid, tid, None)
    }

    fn stepped(pid: i32, tid: i32, signo: Option<i32>) -> Command<'static> {
        Command::Resume(
            ResumeRequest::Step(Some(ThreadSel::Thread {
                pid: Some(pid),
                tid,
            })),
            signo,
        )
    }

    #[test]
    fn plain_resumes() {
        assert_eq!(parse(b"c"), Command::Resume(ResumeRequest::Continue, None));
        assert_eq!(
            parse(b"s"),
            Command::Resume(ResumeRequest::Step(None), None)
        );
        assert_eq!(
            parse(b"C0b"),
            Command::Resume(ResumeRequest::Continue, Some(11))
        );
        assert_eq!(
            parse(b"S05"),
            Command::Resume(ResumeRequest::Step(None), Some(5))
        );
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
        assert_eq!(
            parse(b"vCont;c"),
            Command::Resume(ResumeRequest::Continue, None)
        );
        assert_eq!(
            parse(b"vCont;C0b:p1.2;c"),
            Command::Resume(ResumeRequest::Continue, Some(11))
        );
        assert_eq!(parse(b"vCont;s:p1.2;c"), step(1, 2));
        assert_eq!(parse(b"vCont;c;s:p1.2"), step(1, 2));
        assert_eq!(parse(b"vCont;s:p1.2"), step(1, 2));
        assert_eq!(parse(b"vCont;S05:p1.3;C0b"), stepped(1, 3, Some(5)));
        // gdb's SIGUSR1 is 30, Linux's 10.
        assert_eq!(
            parse(b"vCont;C1e:p1.2;c"),
            Command::Resume(ResumeRequest::Continue, Some(10))
        );
        assert_eq!(
            parse(b"vCont;s"),
            Command::Resume(ResumeRequest::Step(None), None)
        );
        assert_eq!(
            parse(b"vCont;c:p1.-1"),
            Command::Resume(ResumeRequest::Continue, None)
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
