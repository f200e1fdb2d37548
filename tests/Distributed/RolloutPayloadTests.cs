using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Rollouts;
using PurePg.Rl.Training;

namespace PurePg.Distributed.Tests;

/// <summary>The bytes a rollout and a policy version travel as: a round trip gives back every array and episode exactly;
/// a payload of another shape, cut short or too long is refused by name; parameters of another network are refused.</summary>
public class RolloutPayloadTests
{
    [Fact]
    public void A_rollout_round_trips_exactly_and_a_payload_that_does_not_fit_is_refused_by_name()
    {
        var spec = RolloutBlockSpec.Split("Pendulum-v1", 3, 90, 1, [8], Activation.Tanh)[0];
        var (shard, agent) = RolloutWorkerGrain.Build(spec);
        shard.Reset(4);
        for (int k = 0; k < 3; k++) shard.Collect(agent); // 270 steps: every copy's episode is cut at 200
        var b = shard.Buffer;
        Assert.NotEmpty(b.Episodes);
        var result = RolloutBlockResult.Of(7, shard);
        var copy = spec.NewBuffer(b.ObservationSize, b.ActionSize);
        result.CopyTo(copy);
        Assert.Equal(b.Observations, copy.Observations);
        Assert.Equal(b.FinalObservations, copy.FinalObservations);
        Assert.Equal(b.LastObservations, copy.LastObservations);
        Assert.Equal(b.ContinuousActions, copy.ContinuousActions);
        Assert.Equal(b.Rewards, copy.Rewards);
        Assert.Equal(b.LogProbs, copy.LogProbs);
        Assert.Equal(b.Values, copy.Values);
        Assert.Equal(b.TimeSteps, copy.TimeSteps);
        Assert.Equal(b.Terminated, copy.Terminated);
        Assert.Equal(b.Truncated, copy.Truncated);
        Assert.Equal(b.Episodes, copy.Episodes);
        Assert.Equal(b.EpisodeEnds, copy.EpisodeEnds);

        var other = new RolloutBuffer(91, 3, b.ObservationSize, b.ActionSize);
        Assert.Contains("observations hold 810 values where the block needs 819", Assert.Throws<InvalidDataException>(() => result.CopyTo(other)).Message);
        var cut = result with { Rollout = result.Rollout[..^5] };
        Assert.Contains("ends inside its episode ends", Assert.Throws<InvalidDataException>(() => cut.CopyTo(copy)).Message);
        var longer = result with { Rollout = [.. result.Rollout, 0] };
        Assert.Contains("1 bytes after its episodes", Assert.Throws<InvalidDataException>(() => longer.CopyTo(copy)).Message);
    }

    [Fact]
    public void Parameters_round_trip_and_those_of_another_network_are_refused()
    {
        var space = AlgorithmCatalog.MakeVectorEnv("CartPole-v1", 1);
        var a = new ActorCritic(space.SingleObservationSpace, space.SingleActionSpace, [8], Activation.Tanh, 0, new Rng(1));
        var b = new ActorCritic(space.SingleObservationSpace, space.SingleActionSpace, [8], Activation.Tanh, 0, new Rng(2));
        var spec = RolloutBlockSpec.Split("CartPole-v1", 1, 4, 1, [8], Activation.Tanh)[0];
        new RolloutBlockRequest(spec, 1, RolloutBlockRequest.PackParameters(a), []).LoadParameters(b);
        Assert.Equal(a.Theta.Values.ToArray(), b.Theta.Values.ToArray());
        Assert.Equal(a.Phi.Values.ToArray(), b.Phi.Values.ToArray());
        var wide = new ActorCritic(space.SingleObservationSpace, space.SingleActionSpace, [16], Activation.Tanh, 0, new Rng(3));
        var e = Assert.Throws<ArgumentException>(() => new RolloutBlockRequest(spec, 2, RolloutBlockRequest.PackParameters(wide), []).LoadParameters(b));
        Assert.Contains("Version 2 carries", e.Message);
    }
}
