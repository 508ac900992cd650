//! `monitor` commands, and the checkpoints under gdb's `checkpoint`,
//! `restart N`, `info checkpoints` and `delete checkpoint N` (rr's
//! spellings, which `rewind replay` defines in the gdb it starts).

use gdb_remote::{StopReason, TargetError};

use super::Debugger;
use crate::debug::copies::MemoryCost;
use crate::debug::plan::{Plan, Seen};
use crate::debug::position::Position;
use crate::debug::protocol::{Answer, Reply};

const HELP: &str = "rewind monitor commands:
  when                 print the number of the event being replayed
  goto EVENT           go to the start of that event, forward or back
  copies               list the copies of the replay moves back start from
  checkpoint           remember this stop as a checkpoint (gdb: checkpoint)
  restart N            go back (or forward) to checkpoint N (gdb: restart N)
  checkpoints          list the checkpoints (gdb: info checkpoints)
  delete checkpoint N  forget checkpoint N (gdb: delete checkpoint N)
  help                 print this list
After goto and restart, `maintenance flush register-cache` shows gdb the
move (the gdb commands rewind replay defines do). gdb's `run` starts the
replay again and continues; `run cN` and `run EVENT` start it at a
checkpoint or an event.
";

impl Debugger {
    pub(super) fn monitor(&mut self, command: &str) -> Reply {
        let words: Vec<&str> = command.split_whitespace().collect();
        let text = match words.as_slice() {
            ["when"] => format!("Current event: {}\n", self.event),
            ["help"] | [] => HELP.to_owned(),
            ["checkpoint"] => {
                let shown = self.shown.clone().ok_or_else(|| {
                    TargetError::Message(
                        "rewind cannot keep a stop made by interrupting a running thread \
                         as a checkpoint; step or continue to the next stop first"
                            .into(),
                    )
                })?;
                let number = self.next_checkpoint;
                self.next_checkpoint += 1;
                let event = shown.position.event;
                self.checkpoints.insert(number, shown);
                format!("Checkpoint {number} at event {event}.\n")
            }
            ["copies"] => self.copies_text(),
            ["checkpoints"] => {
                if self.checkpoints.is_empty() {
                    "No checkpoints.\n".to_owned()
                } else {
                    let mut text = String::from("Id   Event\n");
                    for (number, seen) in &self.checkpoints {
                        text.push_str(&format!("{number:<4} {}\n", seen.position.event));
                    }
                    text
                }
            }
            ["delete", "checkpoint", number] => {
                let number = checkpoint_number(number)?;
                self.checkpoints
                    .remove(&number)
                    .ok_or_else(|| no_checkpoint(number))?;
                format!("Deleted checkpoint {number}.\n")
            }
            _ => {
                return Err(TargetError::Message(format!(
                    "unknown monitor command \"{command}\"; \"monitor help\" lists them"
                )))
            }
        };
        Ok(Answer::Text(text))
    }

    /// `monitor restart N`: to checkpoint N.
    pub(super) fn restart_plan(&mut self, number: &str) -> Result<Plan, TargetError> {
        let number = checkpoint_number(number.trim())?;
        let seen = self
            .checkpoints
            .get(&number)
            .cloned()
            .ok_or_else(|| no_checkpoint(number))?;
        self.message = Some(format!(
            "rewind: at checkpoint {number} (event {}).\n",
            seen.position.event
        ));
        Ok(Plan::Travel(seen))
    }

    /// Where gdb's `run` goes: the first stop, a checkpoint (`cN`) or the
    /// start of an event (`N`).
    pub(super) fn run_plan(&mut self, argument: Option<&str>) -> Result<Plan, TargetError> {
        match argument.map(str::trim).filter(|a| !a.is_empty()) {
            None => self
                .first_stop
                .clone()
                .map(Plan::Travel)
                .ok_or(TargetError::Errno(libc::ESRCH)),
            Some(checkpoint) if checkpoint.starts_with('c') => {
                let number = checkpoint_number(&checkpoint[1..])?;
                let seen = self
                    .checkpoints
                    .get(&number)
                    .cloned()
                    .ok_or_else(|| no_checkpoint(number))?;
                Ok(Plan::Travel(seen))
            }
            Some(event) => self.goto_plan(&format!("goto {event}")),
        }
    }

    /// `monitor goto EVENT`: the start of that event, as a stop of the
    /// debugged process's first thread.
    pub(super) fn goto_plan(&mut self, command: &str) -> Result<Plan, TargetError> {
        let usage = || {
            TargetError::Message(
                "usage: monitor goto EVENT (an event number, as `monitor when` prints)".into(),
            )
        };
        let event: u64 = command
            .strip_prefix("goto")
            .map(str::trim)
            .and_then(|n| n.parse().ok())
            .ok_or_else(usage)?;
        let start = self.history_start.as_ref().map_or(0, |s| s.position.event);
        if event <= start {
            return Err(TargetError::Message(format!(
                "event {event} is before the program gdb debugs began (event {start}); \
                 `run` goes back to the start"
            )));
        }
        let thread = self.first_thread().ok_or(TargetError::Errno(libc::ESRCH))?;
        self.message = Some(format!("rewind: now at the start of event {event}.\n"));
        Ok(Plan::Travel(Seen {
            position: Position::boundary(event),
            reason: StopReason::Signal {
                thread,
                signo: libc::SIGTRAP,
            },
        }))
    }
}

impl Debugger {
    /// How many copies of the replay are alive, where, and the memory they
    /// cost beside the replayed processes'.
    fn copies_text(&self) -> String {
        let before: Vec<String> = self
            .copies
            .iter()
            .filter(|(at, _)| at.marks.is_empty())
            .map(|(at, _)| at.event.to_string())
            .collect();
        let inside: Vec<String> = self
            .copies
            .iter()
            .filter(|(at, _)| !at.marks.is_empty())
            .map(|(at, _)| at.to_string())
            .collect();
        let cost = MemoryCost::of(
            self.copies.iter().map(|(_, pids)| pids.as_slice()),
            &self.replayed,
        );
        let mut places = Vec::new();
        if !before.is_empty() {
            places.push(format!("before events {}", before.join(", ")));
        }
        if !inside.is_empty() {
            places.push(format!("inside events at {}", inside.join(", ")));
        }
        match self.copies.len() {
            0 => "No copies of the replay yet.\n".to_owned(),
            count => format!(
                "{count} copies of the replay, {}; they add {} KiB of memory, the replayed \
                 processes {} KiB.\n",
                places.join(" and "),
                cost.copies_kib,
                cost.replayed_kib
            ),
        }
    }
}

fn checkpoint_number(text: &str) -> Result<u32, TargetError> {
    text.parse().map_err(|_| {
        TargetError::Message(format!(
            "\"{text}\" is not a checkpoint number; `info checkpoints` lists them"
        ))
    })
}

fn no_checkpoint(number: u32) -> TargetError {
    TargetError::Message(format!(
        "there is no checkpoint {number}; `info checkpoints` lists them"
    ))
}
