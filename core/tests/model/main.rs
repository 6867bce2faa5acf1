//! Thousands of seeded random programs and driver sequences, run on the
//! machine (with the mock host) and on an independent reference
//! interpreter (`model/reference.rs`); their event traces must be identical.

#![forbid(unsafe_code)]

mod reference;

use pyawaitable_core::mock::{
    Action, Callback, End, Exc, MockHost, Obj, OnClose, OnThrow, Script, Task, TaskAction, Trace,
};
use pyawaitable_core::{drive, Outcome, Stage, With};

const SEEDS: [u64; 8] = [1, 2, 3, 5, 8, 13, 21, 0x5eed_cafe];
const PROGRAMS_PER_SEED: usize = 2_500;
/// How deep callbacks that add callbacks may nest.
const MAX_DEPTH: u32 = 2;

/// An entry of a random program.
#[derive(Clone, Debug)]
enum Entry {
    Await(Box<Script>, Option<Callback>, Option<Callback>),
    Defer(Callback),
    /// `async with`: `__aenter__`'s awaitable, `__aexit__`'s awaitable, the
    /// body callback and the statement's error callback.
    With(Box<Block>),
    /// A task: its name and what it does on each poll.
    Task(String, Vec<TaskAction>),
}

/// The parts of an `async with` entry (as [`Action::AddWith`] has them).
#[derive(Clone, Debug)]
struct Block {
    enter: Script,
    exit: Script,
    body: Callback,
    on_error: Option<Callback>,
}

/// One call of the driver.
#[derive(Clone, Debug)]
enum Call {
    Send(Obj),
    Throw(Exc),
    Close,
}

#[derive(Debug)]
struct Program {
    entries: Vec<Entry>,
    calls: Vec<Call>,
}

/// What a driver call gave back.
#[derive(Debug, PartialEq)]
enum Reply {
    Resumed(Outcome<Obj, Exc>),
    Closed(Result<Option<Obj>, Exc>),
}

/// One observable event: a host call, or a driver call's reply and the
/// stage it left the awaitable in, or after it which of the program's own
/// tasks are still alive (not yet dropped), in program order.
#[derive(Debug, PartialEq)]
enum Event {
    Host(Trace),
    Reply(Reply, Stage),
    Alive(Vec<String>),
}

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn percent(&mut self, chance: u64) -> bool {
        self.below(100) < chance
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }
}

/// Makes random programs; ids and names are unique within a program.
struct Generator {
    rng: Rng,
    ids: u32,
}

#[derive(Clone, Copy)]
enum Kind {
    Result,
    Error,
    Defer,
    /// The body of an `async with`.
    Body,
}

impl Generator {
    fn program(&mut self) -> Program {
        self.ids = 0;
        let entries = (0..1 + self.rng.below(5)).map(|_| self.entry()).collect();
        let calls = (0..1 + self.rng.below(10)).map(|_| self.call()).collect();
        Program { entries, calls }
    }

    fn id(&mut self) -> u32 {
        self.ids += 1;
        self.ids
    }

    fn entry(&mut self) -> Entry {
        match self.rng.below(100) {
            0..=54 => {
                let (script, on_result, on_error) = self.await_parts(0);
                Entry::Await(Box::new(script), on_result, on_error)
            }
            55..=69 => Entry::Defer(self.callback(Kind::Defer, 0)),
            70..=84 => Entry::With(Box::new(self.block(0))),
            _ => {
                let (name, actions) = self.task();
                Entry::Task(name, actions)
            }
        }
    }

    /// An `async with` block whose body callback runs at `depth`.
    fn block(&mut self, depth: u32) -> Block {
        let enter = self.script();
        let mut exit = self.script();
        // What the awaited `__aexit__` gives decides suppression.
        exit.end = match self.rng.below(20) {
            0..=6 => End::Return(Obj::None),
            7..=13 => End::Return(Obj::int(1)),
            14 | 15 => End::Return(Obj::int(0)),
            16 => End::Return(Obj::Exc(Exc::new("V"))),
            _ => End::Raise(Exc::new("X")),
        };
        let body = self.callback(Kind::Body, depth);
        let on_error = self
            .rng
            .percent(50)
            .then(|| self.callback(Kind::Error, depth));
        Block {
            enter,
            exit,
            body,
            on_error,
        }
    }

    /// A task: its name and its actions, one or more per poll.
    fn task(&mut self) -> (String, Vec<TaskAction>) {
        let name = format!("t{}", self.id());
        let actions = (0..self.rng.below(5))
            .map(|_| match self.rng.below(100) {
                0..=34 => TaskAction::Await(Obj::script(self.script())),
                35..=59 => TaskAction::Start(Obj::script(self.script())),
                60..=67 => TaskAction::Return(Obj::int(self.rng.below(1000) as i64)),
                68..=75 => TaskAction::Raise(Exc::new(self.rng.pick(&["K", "StopIteration"]))),
                76..=85 => TaskAction::AddAwait(Obj::script(self.script())),
                _ => TaskAction::ReturnResumed,
            })
            .collect();
        (name, actions)
    }

    fn await_parts(&mut self, depth: u32) -> (Script, Option<Callback>, Option<Callback>) {
        let script = self.script();
        let on_result = self
            .rng
            .percent(60)
            .then(|| self.callback(Kind::Result, depth));
        let on_error = self
            .rng
            .percent(50)
            .then(|| self.callback(Kind::Error, depth));
        (script, on_result, on_error)
    }

    fn script(&mut self) -> Script {
        let id = self.id();
        let mut script = Script::yields(self.rng.pick(&[0, 1, 1, 2, 2, 3, 4])).id(id);
        script.end = match self.rng.below(10) {
            0..=3 => End::Return(Obj::None),
            4..=7 => End::Return(Obj::int(i64::from(id) * 100)),
            _ => End::Raise(Exc::new(self.rng.pick(&["E1", "E2"]))),
        };
        script.on_throw = match self.rng.below(8) {
            0..=3 => OnThrow::Propagate,
            4 => OnThrow::Catch(Obj::int(-i64::from(id))),
            5 | 6 => OnThrow::Resume,
            _ => OnThrow::NoThrowMethod,
        };
        script.on_close = match self.rng.below(10) {
            0..=6 => OnClose::Quiet,
            7 | 8 => OnClose::Raise(Exc::new("C")),
            _ => OnClose::IgnoreGeneratorExit,
        };
        script.awaitable = self.rng.percent(95);
        script
    }

    fn callback(&mut self, kind: Kind, depth: u32) -> Callback {
        let (prefix, codes): (&str, &[i32]) = match kind {
            Kind::Result => ("r", &[0, 0, 0, 0, -1, -2]),
            Kind::Error => ("h", &[0, 0, 0, -1, -2]),
            Kind::Defer => ("d", &[0, 0, 0, 0, -1]),
            Kind::Body => ("b", &[0, 0, 0, 0, 0, -1, -2]),
        };
        let name = format!("{prefix}{}", self.id());
        let code = self.rng.pick(codes);
        let raise = (code < 0)
            .then(|| self.rng.pick(&[Some("R"), Some("StopIteration"), None]))
            .flatten()
            .map(Exc::new);
        // A body is where a block's awaits come from: give it more to do.
        let most = match kind {
            Kind::Body => 4,
            _ => 3,
        };
        let actions = (0..self.rng.below(most))
            .map(|_| self.action(depth))
            .collect();
        Callback {
            name: name.into(),
            actions,
            code,
            raise,
        }
    }

    fn action(&mut self, depth: u32) -> Action {
        let deeper = depth + 1;
        match self.rng.below(120) {
            0..=29 if deeper <= MAX_DEPTH => {
                let (script, on_result, on_error) = self.await_parts(deeper);
                Action::AddAwait(script, on_result, on_error)
            }
            30..=39 if deeper <= MAX_DEPTH => Action::AddDefer(self.callback(Kind::Defer, deeper)),
            40..=59 => Action::SetResult(Obj::int(self.rng.below(1000) as i64)),
            60..=74 => Action::SetResultToArg,
            75..=84 => Action::Cancel,
            85..=89 => Action::Reenter,
            90..=94 => Action::ReenterThrow(Exc::new("T")),
            95..=99 => Action::ReenterClose,
            100..=109 if deeper <= MAX_DEPTH => {
                let Block {
                    enter,
                    exit,
                    body,
                    on_error,
                } = self.block(deeper);
                Action::AddWith {
                    enter,
                    exit,
                    body,
                    on_error,
                }
            }
            110..=119 if deeper <= MAX_DEPTH => {
                let (name, actions) = self.task();
                Action::AddTask(name, actions)
            }
            _ => Action::SetResultToArg,
        }
    }

    fn call(&mut self) -> Call {
        match self.rng.below(20) {
            0..=12 => Call::Send(Obj::None),
            13 | 14 => Call::Send(Obj::int(self.rng.below(10) as i64)),
            15 | 16 => Call::Throw(Exc::new("T")),
            17 => Call::Throw(Exc::new("GeneratorExit")),
            _ => Call::Close,
        }
    }
}

fn run_machine(program: &Program) -> Vec<Event> {
    let mut host = MockHost::new();
    let mut tasks = Vec::new();
    for entry in &program.entries {
        let added = match entry.clone() {
            Entry::Await(script, on_result, on_error) => host
                .machine
                .add_await(Obj::script(*script), on_result, on_error)
                .is_ok(),
            Entry::Defer(callback) => host.machine.add_defer(callback).is_ok(),
            Entry::With(block) => host
                .machine
                .add_with(With {
                    enter: Obj::script(block.enter),
                    exit: Obj::script(block.exit),
                    body: block.body,
                    on_error: block.on_error,
                })
                .is_ok(),
            Entry::Task(name, actions) => {
                let task = Task::new(&name, actions);
                tasks.push((name, task.dropped.clone()));
                host.machine.add_task(task).is_ok()
            }
        };
        assert!(added);
    }
    let mut events = Vec::new();
    for call in &program.calls {
        let reply = match call.clone() {
            Call::Send(value) => Reply::Resumed(drive::send(&mut host, value)),
            Call::Throw(exc) => Reply::Resumed(drive::throw(&mut host, exc)),
            Call::Close => Reply::Closed(drive::close(&mut host)),
        };
        events.extend(host.trace.drain(..).map(Event::Host));
        events.push(Event::Reply(reply, host.machine.stage()));
        let alive = tasks.iter().filter(|(_, dropped)| !dropped.get());
        events.push(Event::Alive(alive.map(|(name, _)| name.clone()).collect()));
    }
    events
}

fn run_reference(program: &Program) -> Vec<Event> {
    let mut coroutine = reference::Coroutine::new(&program.entries);
    let mut events = Vec::new();
    for call in &program.calls {
        let reply = match call.clone() {
            Call::Send(value) => Reply::Resumed(coroutine.send(value)),
            Call::Throw(exc) => Reply::Resumed(coroutine.throw(exc)),
            Call::Close => Reply::Closed(coroutine.close()),
        };
        events.extend(coroutine.take_trace().into_iter().map(Event::Host));
        events.push(Event::Reply(reply, coroutine.stage()));
        events.push(Event::Alive(coroutine.alive_tasks()));
    }
    events
}

/// The situations the generator must keep reaching for the comparison to
/// mean something.
#[derive(Debug, Default)]
struct Seen {
    returned: usize,
    raised_runtime_error_from_stop_iteration: usize,
    raised_system_error: usize,
    closed_with_yield: usize,
    closed_with_error: usize,
    yielded_after_throw: usize,
    handled_generator_exit: usize,
    reentered: usize,
    discarded: usize,
    reused: usize,
    exited_cleanly: usize,
    exited_with_error: usize,
    body_ran: usize,
    polled_first: usize,
    polled_with_value: usize,
    polled_with_error: usize,
    /// A block's body ran inside another block.
    nested_blocks: usize,
    /// A task was polled inside a block.
    tasks_in_blocks: usize,
}

impl Seen {
    fn note(&mut self, program: &Program, events: &[Event]) {
        let replies = events.iter().filter_map(|event| match event {
            Event::Reply(reply, stage) => Some((reply, stage)),
            Event::Host(_) | Event::Alive(_) => None,
        });
        for ((reply, stage), call) in replies.zip(&program.calls) {
            match (reply, call) {
                (Reply::Resumed(Outcome::Return(_)), _) => self.returned += 1,
                (Reply::Resumed(Outcome::Raise(exc)), _) if exc.cause.is_some() => {
                    self.raised_runtime_error_from_stop_iteration += 1
                }
                (Reply::Resumed(Outcome::Raise(exc)), _) if exc.class == "SystemError" => {
                    self.raised_system_error += 1
                }
                (Reply::Resumed(Outcome::Raise(exc)), Call::Send(Obj::None))
                    if exc.class == "RuntimeError" =>
                {
                    self.reused += 1
                }
                (Reply::Resumed(Outcome::Yield(_)), Call::Throw(_)) => {
                    self.yielded_after_throw += 1
                }
                (Reply::Closed(Err(_)), _) if *stage == Stage::Suspended => {
                    self.closed_with_yield += 1
                }
                (Reply::Closed(Err(_)), _) => self.closed_with_error += 1,
                _ => {}
            }
        }
        for event in events {
            match event {
                Event::Host(Trace::OnError(_, exc)) if exc.class == "GeneratorExit" => {
                    self.handled_generator_exit += 1
                }
                Event::Host(Trace::Reentry(_) | Trace::ReentryClose(_)) => self.reentered += 1,
                Event::Host(Trace::Discard(_)) => self.discarded += 1,
                Event::Host(Trace::Exit(None)) => self.exited_cleanly += 1,
                Event::Host(Trace::Exit(Some(_))) => self.exited_with_error += 1,
                Event::Host(Trace::OnResult(name, _)) if name.starts_with('b') => {
                    self.body_ran += 1
                }
                Event::Host(Trace::Poll(_, None)) => self.polled_first += 1,
                Event::Host(Trace::Poll(_, Some(Ok(_)))) => self.polled_with_value += 1,
                Event::Host(Trace::Poll(_, Some(Err(_)))) => self.polled_with_error += 1,
                _ => {}
            }
        }
        // Every body that ran opened a block, and its exit closes it.
        let mut open_blocks = 0_usize;
        for event in events {
            match event {
                Event::Host(Trace::OnResult(name, _)) if name.starts_with('b') => {
                    if open_blocks > 0 {
                        self.nested_blocks += 1;
                    }
                    open_blocks += 1;
                }
                Event::Host(Trace::Exit(_)) => open_blocks = open_blocks.saturating_sub(1),
                Event::Host(Trace::Poll(..)) if open_blocks > 0 => self.tasks_in_blocks += 1,
                _ => {}
            }
        }
    }

    fn assert_all_reached(&self) {
        let counts = [
            self.returned,
            self.raised_runtime_error_from_stop_iteration,
            self.raised_system_error,
            self.closed_with_yield,
            self.closed_with_error,
            self.yielded_after_throw,
            self.handled_generator_exit,
            self.reentered,
            self.discarded,
            self.reused,
            self.exited_cleanly,
            self.exited_with_error,
            self.body_ran,
            self.polled_first,
            self.polled_with_value,
            self.polled_with_error,
            self.nested_blocks,
            self.tasks_in_blocks,
        ];
        assert!(
            counts.iter().all(|&count| count >= 10),
            "some situations were rarely reached: {self:#?}"
        );
    }
}

/// Where the two event lists first differ, for the failure message.
fn first_difference(machine: &[Event], reference: &[Event]) -> String {
    let at = machine
        .iter()
        .zip(reference)
        .take_while(|(m, r)| m == r)
        .count();
    format!(
        "first difference at event {at}: machine {:?}, reference {:?}",
        machine.get(at),
        reference.get(at)
    )
}

#[test]
fn random_programs_give_the_same_trace_on_the_machine_and_the_reference() {
    let mut seen = Seen::default();
    for seed in SEEDS {
        let mut generator = Generator {
            rng: Rng(seed),
            ids: 0,
        };
        for index in 0..PROGRAMS_PER_SEED {
            let program = generator.program();
            let machine = run_machine(&program);
            let reference = run_reference(&program);
            assert_eq!(
                machine,
                reference,
                "seed {seed}, program {index}, {} (left: machine, right: reference):\n{program:#?}",
                first_difference(&machine, &reference),
            );
            seen.note(&program, &machine);
        }
    }
    seen.assert_all_reached();
}
