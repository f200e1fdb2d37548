using System.Net;
using Orleans.Runtime.Messaging;
using PurePg.Rl.Algorithms;

namespace PurePg.Distributed.Tests;

/// <summary>Mutual TLS between a silo and its learners: a client with the cluster's certificate is served; a client with
/// no TLS, or with another certificate, is refused before it reaches a grain; a certificate file round-trips and a bad one
/// is named.</summary>
public class ClusterTlsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("purepg-tls-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task A_client_with_the_clusters_certificate_is_served_and_one_without_it_is_refused()
    {
        var tls = ClusterTls.CreateSelfSigned();
        string file = Path.Combine(_root, "cluster.pfx");
        tls.Save(file);
        var loaded = ClusterTls.Load(file); // what a second machine would do
        Assert.True(loaded.Accepts(tls.Certificate));

        int[] ports = TestClusters.FreePorts(2);
        using var silo = await Cluster.StartSiloAsync(new LocalSiloOptions(ports[0], ports[1], Tls: tls));
        try
        {
            // with the certificate: an ES generation evaluated on the silo, the same bits as local threads
            var (host, client) = await Cluster.ConnectAsync([ports[1]], connectTimeout: TimeSpan.FromSeconds(10), tls: loaded);
            try
            {
                var settings = new EsSettings { Pairs = 4, HiddenSizes = [8], Workers = 1, Seed = 2 };
                var remote = new Es(() => PurePg.Envs.EnvRegistry.Make("CartPole-v1"), settings, new ClusterEsSource(client, "CartPole-v1", settings, workers: 2));
                var local = new Es(() => PurePg.Envs.EnvRegistry.Make("CartPole-v1"), settings);
                Assert.Equal(local.Iterate().Episodes, remote.Iterate().Episodes);
            }
            finally { await host.StopAsync(); host.Dispose(); }

            // without TLS, and with another cluster's certificate: refused at the handshake, so the connection never opens
            var plain = await Assert.ThrowsAsync<ConnectionFailedException>(() => Cluster.ConnectAsync([ports[1]], connectTimeout: TimeSpan.FromSeconds(3)));
            var other = await Assert.ThrowsAsync<ConnectionFailedException>(() => Cluster.ConnectAsync([ports[1]], connectTimeout: TimeSpan.FromSeconds(3), tls: ClusterTls.CreateSelfSigned()));
            Assert.Contains("Unable to connect to any of the 1 available gateways", plain.Message);
            Assert.Contains("Unable to connect to any of the 1 available gateways", other.Message);
        }
        finally { await silo.StopAsync(); }
    }

    [Fact]
    public void A_certificate_file_that_cannot_be_used_is_named()
    {
        var missing = Assert.Throws<FileNotFoundException>(() => ClusterTls.Load(Path.Combine(_root, "none.pfx")));
        Assert.Contains("none.pfx", missing.Message);
        string file = Path.Combine(_root, "locked.pfx");
        ClusterTls.CreateSelfSigned().Save(file, "secret");
        var wrong = Assert.Throws<InvalidDataException>(() => ClusterTls.Load(file, "guess"));
        Assert.Contains("locked.pfx", wrong.Message);
        Assert.True(ClusterTls.Load(file, "secret").Certificate.HasPrivateKey);
        string text = Path.Combine(_root, "text.pfx");
        File.WriteAllText(text, "not a certificate");
        Assert.Contains("text.pfx", Assert.Throws<InvalidDataException>(() => ClusterTls.Load(text)).Message);
    }
}
