using System.Net;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Training;

namespace PurePg.Distributed.Tests;

/// <summary>Silos at their own addresses, as on separate machines: two silos listening on 127.0.0.2 and 127.0.0.3 (each
/// address its own host as far as the sockets are concerned), the second joining the primary by address, and a learner
/// connected to both gateways by address: PPO's 16 rollout workers spread over both (placement is random: all on one
/// silo has probability 2⁻¹⁵) and the run is bit-identical to one
/// process.</summary>
public class ClusterAddressTests
{
    [Fact]
    public async Task Silos_at_two_addresses_serve_a_learner_that_connects_by_address()
    {
        IPAddress a = IPAddress.Parse("127.0.0.2"), b = IPAddress.Parse("127.0.0.3");
        int[] pa = TestClusters.FreePorts(2, a), pb = TestClusters.FreePorts(2, b);
        using var primary = await Cluster.StartSiloAsync(new LocalSiloOptions(pa[0], pa[1], Address: a));
        using var second = await Cluster.StartSiloAsync(new LocalSiloOptions(pb[0], pb[1], PrimarySiloPort: pa[0], Address: b, PrimaryAddress: a));
        var (host, client) = await Cluster.ConnectAsync([new IPEndPoint(a, pa[1]), new IPEndPoint(b, pb[1])], connectTimeout: TimeSpan.FromSeconds(20));
        try
        {
            var settings = new PpoSettings { NumEnvs = 16, StepsPerEnv = 16, BatchSize = 64, Epochs = 2, HiddenSizes = [16, 16], Seed = 9 };
            var remote = new Ppo(new ClusterRolloutSource(client, "CartPole-v1", 16, 16, settings.HiddenSizes, settings.Activation, workers: 16), settings);
            var local = new Ppo(AlgorithmCatalog.MakeVectorEnv("CartPole-v1", 16), settings);
            for (int k = 0; k < 3; k++) Assert.Equal(local.Iterate().Losses, remote.Iterate().Losses);
            Assert.Equal(local.Agent.Theta.Values.ToArray(), remote.Agent.Theta.Values.ToArray());
            var where = await Task.WhenAll(Enumerable.Range(0, 16).Select(w => client.GetGrain<IRolloutWorkerGrain>(w).Silo()));
            Assert.Contains(where, s => s.Contains("127.0.0.2"));
            Assert.Contains(where, s => s.Contains("127.0.0.3"));
        }
        finally
        {
            await host.StopAsync();
            host.Dispose();
            await second.StopAsync();
            await primary.StopAsync();
        }
    }
}
