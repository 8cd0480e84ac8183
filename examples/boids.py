"""A flock of boids: physics on the workers, one pinned write-back per frame.

The world (a torus) is split into a grid of cells, each a cown. Every frame,
the main thread sorts the birds into cells and schedules one behavior per
cell, on that cell's cown, with the positions and velocities of the birds
in the cell and its eight neighbours captured: the flocking rules
(separation, alignment, cohesion) look no farther than one cell, so a cell
needs nothing else. The cell behaviors run on the workers in parallel.

The flock's arrays live on the main thread, in a PinnedCown, where the
window draws them. One pinned behavior per frame, over the flock and every
cell's result cown, copies the new positions and velocities in: it runs
once all the cells are done, on the main thread, when the loop pumps. This
is the coarse-grained pattern: many small behaviors on the workers, one
behavior per frame on the main thread, never one per bird.

    python examples/boids.py [--birds 200] [--frames N] [--seed 1]
    python examples/boids.py --headless --frames 30

It needs numpy, and its window needs pyglet: ``pip install .[examples]``
from the repository brings both. ``--headless`` runs without a display (and
without pyglet) and prints a summary.
"""

import argparse
import time

import numpy as np

import bocd
from bocd import Cown, PinnedCown, pump, when

WIDTH, HEIGHT = 800.0, 600.0
COLS, ROWS = 4, 3           # cells of 200 x 200
VIEW = 50.0                 # how far a bird sees; at most one cell
CROWD = 20.0                # closer than this, birds push apart
COHESION, ALIGNMENT, SEPARATION = 0.01, 0.05, 3.0
MIN_SPEED, MAX_SPEED = 1.5, 4.0   # world units per frame
PUMP_MS = 8                 # of a 60 Hz frame, what the pump may take
IDLE_S = 0.001              # a headless loop's wait when nothing landed


class Flock:
    """Positions and velocities of every bird (the main thread's copy)."""

    def __init__(self, birds: int, seed: int):
        """Scatter ``birds`` birds at random, flying at cruising speed."""
        rng = np.random.default_rng(seed)
        self.pos = rng.uniform((0, 0), (WIDTH, HEIGHT), size=(birds, 2))
        angle = rng.uniform(0, 2 * np.pi, size=birds)
        speed = (MIN_SPEED + MAX_SPEED) / 2
        self.vel = speed * np.column_stack((np.cos(angle), np.sin(angle)))
        self.frame = 0


class Cell:
    """What one cell has done: how many bird moves it made, all frames."""

    def __init__(self):
        """Open a cell that has moved nobody yet."""
        self.moved = 0


def flock_step(pos, vel, near_pos, near_vel):
    """Return the next positions and velocities of the birds at ``pos``,
    flying with ``vel``, among the birds at ``near_pos`` (which include
    them)."""
    size = np.array((WIDTH, HEIGHT))
    d = near_pos[None, :, :] - pos[:, None, :]
    d -= size * np.round(d / size)          # the nearest way round the torus
    dist = np.hypot(d[..., 0], d[..., 1])
    seen = (dist > 0) & (dist < VIEW)
    count = np.maximum(seen.sum(axis=1), 1)[:, None]
    cohesion = (d * seen[..., None]).sum(axis=1) / count
    heading = (near_vel[None, :, :] * seen[..., None]).sum(axis=1) / count
    alignment = np.where(seen.any(axis=1)[:, None], heading - vel, 0.0)
    close = (dist > 0) & (dist < CROWD)
    push = -(d * (close / np.maximum(dist, 1e-9) ** 2)[..., None]).sum(axis=1)
    vel = vel + COHESION * cohesion + ALIGNMENT * alignment + SEPARATION * push
    speed = np.maximum(np.hypot(vel[:, 0], vel[:, 1]), 1e-9)[:, None]
    vel = vel * np.clip(speed, MIN_SPEED, MAX_SPEED) / speed
    return (pos + vel) % size, vel


def cell_of(pos):
    """Return the index of the cell each position falls in."""
    col = (pos[:, 0] * COLS // WIDTH).astype(int) % COLS
    row = (pos[:, 1] * ROWS // HEIGHT).astype(int) % ROWS
    return row * COLS + col


def neighbourhood(k: int) -> list:
    """Return the cell ``k`` and its neighbours on the torus, each once."""
    row, col = divmod(k, COLS)
    return sorted({(row + dr) % ROWS * COLS + (col + dc) % COLS
                   for dr in (-1, 0, 1) for dc in (-1, 0, 1)})


def step_cell(cell: Cown, idx, pos, vel, near_pos, near_vel) -> Cown:
    """Move the birds ``idx`` of one cell, on a worker.

    Returns the result cown: ``(idx, new positions, new velocities)``.
    """
    @when(cell)
    def step(cell: Cown, idx=idx, pos=pos, vel=vel, near_pos=near_pos,
             near_vel=near_vel):
        new_pos, new_vel = flock_step(pos, vel, near_pos, near_vel)
        cell.value.moved += len(idx)
        return idx, new_pos, new_vel

    return step


def write_back(flock: PinnedCown, results: list) -> Cown:
    """Copy every cell's result into the flock, on the main thread, once
    all the cells of the frame are done."""
    @when(flock, results)
    def land(flock: PinnedCown, results: list):
        for result in results:
            if result.exception:
                raise result.value
            idx, pos, vel = result.value
            flock.value.pos[idx] = pos
            flock.value.vel[idx] = vel
        flock.value.frame += 1

    return land


class Simulation:
    """The frame loop's side of the flock: schedules a frame once the last
    one has landed, and pumps."""

    def __init__(self, birds: int, seed: int):
        """Make the flock and the cells."""
        self.flock = PinnedCown(Flock(birds, seed))
        self.cells = [Cown(Cell()) for _ in range(COLS * ROWS)]
        self.scheduled = 0
        self.landing = None

    @property
    def landed(self) -> int:
        """Frames whose results are in the flock's arrays."""
        return self.flock.value.frame

    def schedule_frame(self):
        """Schedule the cells' behaviors and the write-back of one frame.

        Reads the flock from the main thread: between pumps no pinned body
        runs, so its arrays hold the last frame that landed.
        """
        f = self.flock.value
        where = cell_of(f.pos)
        members = [np.flatnonzero(where == k) for k in range(len(self.cells))]
        results = []
        for k, cell in enumerate(self.cells):
            idx = members[k]
            if len(idx) == 0:
                continue
            near = np.concatenate([members[j] for j in neighbourhood(k)])
            results.append(step_cell(cell, idx, f.pos[idx], f.vel[idx],
                                     f.pos[near], f.vel[near]))
        self.landing = write_back(self.flock, results)
        self.scheduled += 1

    def tick(self, limit: int, deadline_ms: int = PUMP_MS) -> bool:
        """Pump, then schedule the next frame if the last one landed and
        fewer than ``limit`` (0: no limit) were scheduled. Returns whether
        a frame landed."""
        if self.scheduled == 0:
            self.schedule_frame()
        before = self.landed
        if pump(deadline_ms=deadline_ms).raised:
            bocd.quiesce()
            self.landing.unwrap()  # raises the write-back's error
        if self.landed == self.scheduled and (limit == 0
                                              or self.scheduled < limit):
            self.schedule_frame()
        return self.landed > before


def run_headless(sim: Simulation, frames: int):
    """Pump until ``frames`` frames have landed, as a display loop would."""
    while sim.landed < frames:
        if not sim.tick(frames):
            time.sleep(IDLE_S)


def run_window(sim: Simulation, frames: int):
    """Draw the flock with pyglet, pumping once per display frame, until the
    window is closed or ``frames`` (0: no limit) frames have landed."""
    import pyglet  # only here: a headless run needs neither it nor a display

    window = pyglet.window.Window(int(WIDTH), int(HEIGHT),
                                  caption="bocd boids")
    batch = pyglet.graphics.Batch()
    # Each bird is a triangle with its tip at the bird, pointing along +x
    # until rotated to its heading.
    marks = [pyglet.shapes.Triangle(0, 0, -10, 3, -10, -3,
                                    color=(120, 200, 255), batch=batch)
             for _ in range(len(sim.flock.value.pos))]

    def place():
        f = sim.flock.value
        headings = np.degrees(np.arctan2(f.vel[:, 1], f.vel[:, 0]))
        for mark, (x, y), heading in zip(marks, f.pos, headings):
            mark.position = (float(x), float(y))
            mark.rotation = -float(heading)  # pyglet turns clockwise

    @window.event
    def on_draw():
        window.clear()
        batch.draw()

    def update(dt):
        if sim.tick(frames):
            place()
        if frames and sim.landed >= frames:
            pyglet.app.exit()

    place()
    pyglet.clock.schedule_interval(update, 1 / 60)
    pyglet.app.run()
    window.close()


def main():
    """Fly the flock, then check that every bird moved every frame."""
    parser = argparse.ArgumentParser("Boids")
    parser.add_argument("--birds", type=int, default=200)
    parser.add_argument("--frames", type=int, default=None,
                        help="stop after this many (headless: 30, window: "
                             "until closed)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--headless", action="store_true",
                        help="no window: run the frames and print a summary")
    args = parser.parse_args()

    sim = Simulation(args.birds, args.seed)
    if args.headless:
        run_headless(sim, 30 if args.frames is None else args.frames)
    else:
        run_window(sim, args.frames or 0)
    bocd.quiesce()  # a closed window may leave a frame in flight
    moved = 0
    for cell in sim.cells:
        with cell as c:
            moved += c.moved
    bocd.wait()

    f = sim.flock.value
    frames = f.frame
    finite = bool(np.isfinite(f.pos).all() and np.isfinite(f.vel).all())
    inside = bool(((f.pos >= 0) & (f.pos < (WIDTH, HEIGHT))).all())
    if not (finite and inside) or moved != args.birds * frames:
        print(f"boids went wrong: finite {finite}, inside {inside}, "
              f"{moved} moves for {args.birds} birds x {frames} frames")
        raise SystemExit(1)
    cx, cy = f.pos.mean(axis=0)
    print(f"boids: {args.birds} birds, {frames} frames, {moved} moves, "
          f"all positions finite, centroid ({cx:.1f}, {cy:.1f})")


if __name__ == "__main__":
    main()
