namespace AppHost;

/// <summary>Shows the Dashboard's sign-in link (<c>/login?t=…</c>) among its URLs in the Aspire dashboard.</summary>
internal static class DashboardLoginUrl
{
    public const string DisplayText = "Dashboard (sign in)";

    public static IResourceBuilder<ProjectResource> WithDashboardLoginUrl(this IResourceBuilder<ProjectResource> dashboard,
        IResourceBuilder<ParameterResource> token) =>
        dashboard.WithUrls(async context =>
        {
            var endpoint = context.Urls.FirstOrDefault(u => u.Endpoint?.EndpointName == "http") ?? context.Urls.FirstOrDefault();
            if (endpoint is null)
            {
                return;
            }

            var value = await token.Resource.GetValueAsync(context.CancellationToken);
            var login = new UriBuilder(endpoint.Url) { Path = "/login", Query = "t=" + Uri.EscapeDataString(value ?? string.Empty) };
            context.Urls.Add(new ResourceUrlAnnotation { Url = login.Uri.ToString(), DisplayText = DisplayText, Endpoint = endpoint.Endpoint });
        });
}
