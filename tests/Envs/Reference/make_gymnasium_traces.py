"""Records reference trajectories from Gymnasium's classic-control environments for GymnasiumTraceTests.

Run it through record.sh beside it, which says exactly which Gymnasium, which NumPy and which settings; every file it
writes carries that provenance in its header (gymnasium version and commit, numpy version, promotion state, the
NumPy CPU features switched off).
Every float is stored as its IEEE bit pattern (observations float32 -> uint32; rewards and states float64 -> uint64),
so the C# test compares to the last bit. Each trace is a list of events: reset (with or without a seed), set_state
(assigning env.unwrapped.state), and step (action, observation, reward, terminated, and the new physical state).
"""
import json
import struct
import sys

import numpy as np
import gymnasium as gym


def f32(x): return struct.unpack("<I", struct.pack("<f", float(x)))[0]
def f64(x): return struct.unpack("<Q", struct.pack("<d", float(x)))[0]
def obs_bits(o): return [f32(v) for v in np.asarray(o, dtype=np.float32)]
def state_bits(s): return [f64(v) for v in np.asarray(s, dtype=np.float64)]


def trace(env_id, seed, steps, policy, set_state=None):
    env = gym.make(env_id)
    u = env.unwrapped
    rng = np.random.default_rng(seed + 1000)
    obs, _ = env.reset(seed=seed)
    events = [{"op": "reset", "seed": seed, "obs": obs_bits(obs), "state": state_bits(u.state)}]
    if set_state is not None:
        u.state = np.array(set_state, dtype=np.float64)
        events.append({"op": "set_state", "state": state_bits(u.state)})
    for _ in range(steps):
        action = policy(u.state, rng)
        obs, reward, terminated, truncated, _ = env.step(action)
        a = int(action) if isinstance(action, (int, np.integer)) else [f32(v) for v in action]
        events.append({"op": "step", "action": a, "obs": obs_bits(obs), "reward": f64(reward),
                       "terminated": bool(terminated), "state": state_bits(u.state)})
        if terminated:
            obs, _ = env.reset()
            events.append({"op": "reset", "seed": None, "obs": obs_bits(obs), "state": state_bits(u.state)})
    return {"id": env_id, "events": events}


def resets(env_id, seed, count):
    """Many initial states: the first reset seeded, the rest continuing the stream (Acrobot's observation after a reset
    is computed from a float32 state with NumPy's float32 cos/sin)."""
    env = gym.make(env_id)
    events = []
    for k in range(count):
        obs, _ = env.reset(seed=seed if k == 0 else None)
        events.append({"op": "reset", "seed": seed if k == 0 else None, "obs": obs_bits(obs), "state": state_bits(env.unwrapped.state)})
    return {"id": env_id, "events": events}


def random_discrete(n): return lambda s, rng: int(rng.integers(n))
def random_box(low, high): return lambda s, rng: rng.uniform(low, high, size=(1,)).astype(np.float32)
def pump_discrete(s, rng):  # push with the velocity, with some noise: reaches the goal of MountainCar
    return int(rng.integers(3)) if rng.random() < 0.1 else (2 if s[1] >= 0 else 0)
def pump_box(s, rng):  # same for the continuous car, with actions beyond the clip range
    return np.array([np.sign(s[1] if s[1] != 0 else 1.0) * rng.uniform(0.5, 1.8)], dtype=np.float32)
def pump_acrobot(s, rng):
    return int(rng.integers(3)) if rng.random() < 0.2 else (2 if s[2] >= 0 else 0)


def pow_differs_from_square(seed):
    """A large angular velocity x with x**2 (C pow) != x*x, at which np.square and ** give different next states
    (checked: the trace fails if CartPole squares with pow)."""
    rng = np.random.default_rng(seed)
    while True:
        x = float(rng.uniform(20.0, 40.0))
        if x**2 != x * x:
            return x


traces = [
    trace("CartPole-v1", 0, 300, random_discrete(2)),
    trace("CartPole-v1", 42, 60, random_discrete(2), set_state=[2.35, 1.0, 0.2, 0.5]),
    trace("CartPole-v1", 43, 1, random_discrete(2), set_state=[0.0, 0.0, 0.2, pow_differs_from_square(1)]),
    trace("Pendulum-v1", 1, 250, random_box(-3.0, 3.0)),
    trace("Pendulum-v1", 2, 60, random_box(-2.5, 2.5), set_state=[3.1, 7.9]),
    trace("Acrobot-v1", 3, 400, pump_acrobot),
    trace("Acrobot-v1", 4, 60, random_discrete(3), set_state=[3.0, -3.0, 12.0, -27.0]),
    resets("Acrobot-v1", 9, 2000),
    trace("MountainCar-v0", 5, 400, pump_discrete),
    trace("MountainCar-v0", 6, 40, random_discrete(3), set_state=[-1.19, -0.06]),
    trace("MountainCarContinuous-v0", 7, 400, pump_box),
    trace("MountainCarContinuous-v0", 8, 40, random_box(-3.0, 3.0), set_state=[-1.19, -0.069]),
]
import os
json.dump({
    "gymnasium": gym.__version__,
    "gymnasium_commit": os.environ.get("GYMNASIUM_COMMIT", "unknown"),
    "numpy": np.__version__,
    "promotion": os.environ.get("NPY_PROMOTION_STATE", "legacy"),
    "npy_disable_cpu_features": os.environ.get("NPY_DISABLE_CPU_FEATURES", ""),
    "python": sys.version.split()[0],
    "traces": traces,
}, sys.stdout, separators=(",", ":"))
