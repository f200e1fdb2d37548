using System.Net;
using System.Net.Sockets;
using Orleans.TestingHost;

namespace PurePg.Distributed.Tests;

/// <summary>What the cluster tests start: in-process clusters (TestingHost, loopback) and free ports for silos of their own.</summary>
internal static class TestClusters
{
    /// <summary>An in-process cluster of <paramref name="silos"/> silos, deployed.</summary>
    public static async Task<TestCluster> Start(int silos)
    {
        var cluster = new TestClusterBuilder((short)silos).Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>Distinct free ports on <paramref name="address"/> (default loopback): all held open together, then released.</summary>
    public static int[] FreePorts(int count, IPAddress? address = null)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(address ?? IPAddress.Loopback, 0)).ToArray();
        foreach (var l in listeners) l.Start();
        int[] ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        foreach (var l in listeners) l.Stop();
        return ports;
    }
}
