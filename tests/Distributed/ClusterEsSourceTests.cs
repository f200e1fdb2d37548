using Orleans.Runtime;
using PurePg.Envs;
using PurePg.Rl.Algorithms;

namespace PurePg.Distributed.Tests;

/// <summary>ClusterEsSource's retry rule without a cluster: Orleans' own exceptions (a silo unavailable) are losses,
/// re-sent and, the answer being a pure function of the request, the run stays bit-identical to local threads; a loss
/// every time ends in a TimeoutException naming the worker after its attempts.</summary>
public class ClusterEsSourceTests
{
    /// <summary>Evaluator grains answered in-process by <see cref="EsCandidateEvaluator"/>; worker <c>failing</c> throws
    /// SiloUnavailableException on its first <c>failures</c> calls.</summary>
    private sealed class FakeFactory(int failing, int failures) : IGrainFactory
    {
        public int Calls;
        private int _failed;
        private readonly int _failing = failing, _failures = failures;

        public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithIntegerKey =>
            (TGrainInterface)(object)new Fake(this, (int)primaryKey);

        private sealed class Fake(FakeFactory owner, int worker) : IEsEvaluatorGrain
        {
            public Task<EsShardResult> Evaluate(EsShardRequest request)
            {
                Interlocked.Increment(ref owner.Calls);
                if (worker == owner._failing && Interlocked.Increment(ref owner._failed) <= owner._failures)
                    return Task.FromException<EsShardResult>(new SiloUnavailableException("the silo hosting the worker is gone"));
                var evaluator = new EsCandidateEvaluator(() => EnvRegistry.Make(request.Spec.EnvId), request.Spec.ToSettings());
                return Task.FromResult(EsEvaluatorGrain.Evaluate(evaluator, request, new double[evaluator.ParameterCount]));
            }

            public Task<string> Silo() => Task.FromResult("fake");
        }

        public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithGuidKey => throw new NotSupportedException();
        public TGrainInterface GetGrain<TGrainInterface>(string primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithStringKey => throw new NotSupportedException();
        public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string keyExtension, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithGuidCompoundKey => throw new NotSupportedException();
        public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string keyExtension, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithIntegerCompoundKey => throw new NotSupportedException();
        public TGrainObserverInterface CreateObjectReference<TGrainObserverInterface>(IGrainObserver obj) where TGrainObserverInterface : IGrainObserver => throw new NotSupportedException();
        public void DeleteObjectReference<TGrainObserverInterface>(IGrainObserver obj) where TGrainObserverInterface : IGrainObserver => throw new NotSupportedException();
        public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey) => throw new NotSupportedException();
        public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey) => throw new NotSupportedException();
        public IGrain GetGrain(Type grainInterfaceType, string grainPrimaryKey) => throw new NotSupportedException();
        public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey, string keyExtension) => throw new NotSupportedException();
        public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey, string keyExtension) => throw new NotSupportedException();
        public TGrainInterface GetGrain<TGrainInterface>(GrainId grainId) where TGrainInterface : IAddressable => throw new NotSupportedException();
        public IAddressable GetGrain(GrainId grainId) => throw new NotSupportedException();
        public IAddressable GetGrain(GrainId grainId, GrainInterfaceType interfaceType) => throw new NotSupportedException();
        public IAddressable GetGrain(Type interfaceType, IdSpan grainKey, string grainClassNamePrefix) => throw new NotSupportedException();
        public IAddressable GetGrain(Type interfaceType, IdSpan grainKey) => throw new NotSupportedException();
    }

    private static readonly EsSettings Settings = new() { Pairs = 4, HiddenSizes = [8], Workers = 2, Seed = 9, Sigma = 0.05, NormalizeObservations = true };

    [Fact]
    public void A_silo_unavailable_is_a_loss_re_sent_and_the_run_stays_bit_identical()
    {
        var factory = new FakeFactory(failing: 1, failures: 2);
        var source = new ClusterEsSource(factory, "CartPole-v1", Settings, workers: 3);
        var remote = new Es(() => EnvRegistry.Make("CartPole-v1"), Settings, source);
        var local = new Es(() => EnvRegistry.Make("CartPole-v1"), Settings);
        for (int k = 0; k < 3; k++) Assert.Equal(local.Iterate().Episodes, remote.Iterate().Episodes);
        Assert.Equal(local.Agent.Theta.Values.ToArray(), remote.Agent.Theta.Values.ToArray());
        Assert.Equal(2, source.Retries);
        Assert.Equal(3 * 3 + 2, factory.Calls);
    }

    [Fact]
    public void A_worker_lost_on_every_attempt_is_named()
    {
        var source = new ClusterEsSource(new FakeFactory(failing: 0, failures: int.MaxValue), "CartPole-v1", Settings, workers: 2,
            new WorkerCallOptions { Attempts = 3, RetryDelay = TimeSpan.FromMilliseconds(10) });
        var e = Assert.Throws<TimeoutException>(() => new Es(() => EnvRegistry.Make("CartPole-v1"), Settings, source).Iterate());
        Assert.Contains("ES evaluator 0 gave no answer for generation 0 in 3 attempts", e.Message);
        Assert.Contains("SiloUnavailableException", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new WorkerCallOptions { Attempts = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new WorkerCallOptions { RetryDelay = TimeSpan.FromSeconds(-1) }.Validate());
        var waits = Enumerable.Range(1, 7).Select(r => new WorkerCallOptions().DelayBefore(r).TotalSeconds).ToArray();
        Assert.Equal([1.0, 2, 4, 8, 16, 16, 16], waits); // doubling from 1 s, at most 16 s
        Assert.Throws<ArgumentOutOfRangeException>(() => new WorkerCallOptions { Timeout = TimeSpan.Zero }.Validate());
    }
}
