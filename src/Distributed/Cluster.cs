using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace PurePg.Distributed;

/// <summary>Where a silo listens and whom it joins (Orleans' development clustering: the first silo — the primary — is
/// the others' meeting point). By default everything is on loopback (one machine); with <see cref="Address"/> and
/// <see cref="PrimaryAddress"/> the silos are on a network, one or more per machine.</summary>
/// <param name="SiloPort">The port silos talk to each other on.</param>
/// <param name="GatewayPort">The port clients (the learner) connect to.</param>
/// <param name="PrimarySiloPort">The primary silo's <see cref="SiloPort"/>; null for the primary itself.</param>
/// <param name="ClusterId">The cluster's id: silos and clients join only a cluster whose id they give.</param>
/// <param name="ServiceId">The service's id, the same for every silo of the deployment.</param>
/// <param name="Tls">Mutual TLS with the cluster's certificate (<see cref="ClusterTls"/>) for every connection, silo to silo
/// and client to silo; null for plain TCP (on loopback only).</param>
/// <param name="Address">The address this silo listens on and gives the others (null: loopback). On a network, this
/// machine's address on it.</param>
/// <param name="PrimaryAddress">The primary silo's address (null: <see cref="Address"/>, or loopback).</param>
/// <param name="Redis">A Redis server's configuration (HOST:PORT[,options], StackExchange.Redis syntax) holding the cluster's
/// membership (Orleans' Redis clustering): no primary — silos and learners find each other there, and any silo may
/// stop. <see cref="PrimarySiloPort"/> must then be null.</param>
public sealed record LocalSiloOptions(int SiloPort, int GatewayPort, int? PrimarySiloPort = null, string ClusterId = "purepg", string ServiceId = "purepg",
    ClusterTls? Tls = null, IPAddress? Address = null, IPAddress? PrimaryAddress = null, string? Redis = null)
{
    /// <summary>Whether every silo of this description is on loopback (Orleans' localhost clustering).</summary>
    public bool OnLoopback => Redis is null && (Address is null || Address.Equals(IPAddress.Loopback))
        && (PrimaryAddress is null || PrimaryAddress.Equals(IPAddress.Loopback));

    /// <summary>Checks the ports and ids, naming the bad one.</summary>
    public void Validate()
    {
        foreach (var (name, port) in new[] { (nameof(SiloPort), (int?)SiloPort), (nameof(GatewayPort), GatewayPort), (nameof(PrimarySiloPort), PrimarySiloPort) })
            if (port is { } p && p is < 1 or > 65535) throw new ArgumentOutOfRangeException(name, p, $"{name} must be a port in 1–65535.");
        if (SiloPort == GatewayPort) throw new ArgumentException($"The silo port and the gateway port are both {SiloPort}.");
        if (string.IsNullOrWhiteSpace(ClusterId) || string.IsNullOrWhiteSpace(ServiceId)) throw new ArgumentException("The cluster and service ids must not be empty.");
        if (Redis is not null && (PrimarySiloPort is not null || PrimaryAddress is not null))
            throw new ArgumentException("With Redis membership there is no primary silo: give either Redis or a primary, not both.");
        if (Redis is { Length: 0 }) throw new ArgumentException("The Redis configuration is empty.");
    }
}

/// <summary>Starting silos and connecting learners: the two ends of a PurePg cluster. A silo hosts the grains of this
/// assembly (ES evaluators); environments are found by id in the silo's <see cref="Envs.EnvRegistry"/>, so a silo that
/// serves a user's environments registers their assembly first.</summary>
public static class Cluster
{
    /// <summary>Starts a silo on loopback with <paramref name="options"/>; dispose (or stop) the returned host to leave the
    /// cluster.</summary>
    public static async Task<IHost> StartSiloAsync(LocalSiloOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var host = new HostBuilder()
            .UseOrleans(silo =>
            {
                if (options.OnLoopback)
                    silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort,
                        options.PrimarySiloPort is int primary ? new IPEndPoint(IPAddress.Loopback, primary) : null, options.ServiceId, options.ClusterId);
                else
                {
                    // what UseLocalhostClustering does, at this machine's address: listen and advertise there, meet at the primary
                    var address = options.Address ?? IPAddress.Loopback;
                    silo.Configure<EndpointOptions>(e =>
                    {
                        e.AdvertisedIPAddress = address;
                        e.SiloPort = options.SiloPort;
                        e.GatewayPort = options.GatewayPort;
                        e.SiloListeningEndpoint = new IPEndPoint(address, options.SiloPort);
                        e.GatewayListeningEndpoint = new IPEndPoint(address, options.GatewayPort);
                    });
                    if (options.Redis is { } redis) silo.UseRedisClustering(redis);
                    else silo.UseDevelopmentClustering(new IPEndPoint(options.PrimaryAddress ?? address, options.PrimarySiloPort ?? options.SiloPort));
                    silo.Configure<ClusterOptions>(c => (c.ClusterId, c.ServiceId) = (options.ClusterId, options.ServiceId));
                }
                if (options.Tls is { } tls) silo.UseTls(tls.Certificate, tls.Configure);
            })
            .Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        return host;
    }

    /// <summary>Connects a client to the silos whose gateways listen on <paramref name="gatewayPorts"/> (loopback), trying
    /// for at most <paramref name="connectTimeout"/> (default 15 s; Orleans alone would try forever); returns the host
    /// (dispose it to disconnect) and its <see cref="IClusterClient"/>.</summary>
    /// <exception cref="ArgumentException">No gateway port, or one out of range.</exception>
    /// <exception cref="OrleansException">No gateway answered in time (Orleans' own connection exception) — also what a
    /// client without the cluster's certificate gets from silos that use <see cref="ClusterTls"/>.</exception>
    public static Task<(IHost Host, IClusterClient Client)> ConnectAsync(IReadOnlyList<int> gatewayPorts, string clusterId = "purepg", string serviceId = "purepg",
        TimeSpan? connectTimeout = null, CancellationToken cancellationToken = default, ClusterTls? tls = null)
    {
        ArgumentNullException.ThrowIfNull(gatewayPorts);
        foreach (int p in gatewayPorts)
            if (p is < 1 or > 65535) throw new ArgumentOutOfRangeException(nameof(gatewayPorts), p, "A gateway port must be in 1–65535.");
        return ConnectAsync(gatewayPorts.Select(p => new IPEndPoint(IPAddress.Loopback, p)).ToArray(), clusterId, serviceId, connectTimeout, cancellationToken, tls);
    }

    /// <summary>Connects a client to the silos whose gateways listen at <paramref name="gateways"/> (any addresses: silos on
    /// other machines), as <see cref="ConnectAsync(IReadOnlyList{int}, string, string, TimeSpan?, CancellationToken, ClusterTls?)"/>
    /// does on loopback.</summary>
    public static async Task<(IHost Host, IClusterClient Client)> ConnectAsync(IReadOnlyList<IPEndPoint> gateways, string clusterId = "purepg", string serviceId = "purepg",
        TimeSpan? connectTimeout = null, CancellationToken cancellationToken = default, ClusterTls? tls = null)
    {
        var deadline = DateTime.UtcNow + (connectTimeout ?? TimeSpan.FromSeconds(15));
        ArgumentNullException.ThrowIfNull(gateways);
        if (gateways.Count == 0) throw new ArgumentException("Give at least one gateway.", nameof(gateways));
        return await ConnectAsync(client => client.UseStaticClustering(gateways.ToArray()), clusterId, serviceId, deadline, cancellationToken, tls).ConfigureAwait(false);
    }

    /// <summary>Connects a client to the silos whose membership is kept in the Redis server <paramref name="redis"/>
    /// (HOST:PORT[,options]; see <see cref="LocalSiloOptions.Redis"/>): the gateways are whichever silos are alive.</summary>
    public static async Task<(IHost Host, IClusterClient Client)> ConnectRedisAsync(string redis, string clusterId = "purepg", string serviceId = "purepg",
        TimeSpan? connectTimeout = null, CancellationToken cancellationToken = default, ClusterTls? tls = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(redis);
        var deadline = DateTime.UtcNow + (connectTimeout ?? TimeSpan.FromSeconds(15));
        return await ConnectAsync(client => client.UseRedisClustering(redis), clusterId, serviceId, deadline, cancellationToken, tls).ConfigureAwait(false);
    }

    private static async Task<(IHost Host, IClusterClient Client)> ConnectAsync(Action<IClientBuilder> membership, string clusterId, string serviceId, DateTime deadline,
        CancellationToken cancellationToken, ClusterTls? tls)
    {
        var host = new HostBuilder()
            .UseOrleansClient(client =>
            {
                membership(client);
                client.Configure<ClusterOptions>(c => (c.ClusterId, c.ServiceId) = (clusterId, serviceId))
                    .UseConnectionRetryFilter(async (_, token) =>
                    {
                        if (DateTime.UtcNow >= deadline) return false;
                        await Task.Delay(TimeSpan.FromMilliseconds(500), token).ConfigureAwait(false);
                        return true;
                    });
                if (tls is not null) client.UseTls(tls.Certificate, tls.Configure);
            })
            .Build();
        try { await host.StartAsync(cancellationToken).ConfigureAwait(false); }
        catch
        {
            host.Dispose();
            throw;
        }
        return (host, host.Services.GetRequiredService<IClusterClient>());
    }
}
