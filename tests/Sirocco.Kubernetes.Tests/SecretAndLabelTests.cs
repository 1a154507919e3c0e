using k8s.Models;
using Sirocco.Kubernetes.Internal;

namespace Sirocco.Kubernetes.Tests;

public sealed class SecretAndLabelTests
{
    private static readonly PodBuildContext Context = BuildContexts.Fixed with { TryNumber = 2 };

    [Fact]
    public void Secret_rejects_an_unknown_deploy_type_with_the_providers_message()
    {
        var e = Assert.Throws<SiroccoException>(() => new Secret("file", "/x", "s"));
        Assert.StartsWith("deploy_type must be env or volume", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Secret_with_a_key_but_no_target_is_rejected()
    {
        var e = Assert.Throws<SiroccoException>(() => new Secret("env", null, "s", "k"));
        Assert.StartsWith("If `key` is set, `deploy_target` should not be None", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Env_secret_target_is_upper_cased_and_a_keyless_env_secret_becomes_env_from()
    {
        var op = new KubernetesPodOperator("t")
        {
            Image = "i",
            Secrets = [new Secret("env", "sql_conn", "airflow-secrets", "k"), new Secret("env", null, "whole")],
        };

        var container = PodBuilder.Build(op, Context).Spec.Containers[0];

        var env = Assert.Single(container.Env);
        Assert.Equal("SQL_CONN", env.Name);
        Assert.Equal("airflow-secrets", env.ValueFrom.SecretKeyRef.Name);
        Assert.Equal("whole", Assert.Single(container.EnvFrom).SecretRef.Name);
    }

    [Fact]
    public void Volume_secret_with_items_is_mounted_read_only_with_a_stable_volume_name()
    {
        var op = new KubernetesPodOperator("t")
        {
            Image = "i",
            Secrets = [Secret.Volume("/etc/creds", "service-account", items: [new V1KeyToPath { Key = "a", Path = "b.json" }])],
        };

        var first = PodBuilder.Build(op, Context);
        var second = PodBuilder.Build(op, Context);

        var volume = Assert.Single(first.Spec.Volumes);
        Assert.Equal("service-account", volume.Secret.SecretName);
        Assert.Equal("b.json", Assert.Single(volume.Secret.Items).Path);
        var mount = Assert.Single(first.Spec.Containers[0].VolumeMounts);
        Assert.True(mount.ReadOnlyProperty);
        Assert.Equal("/etc/creds", mount.MountPath);
        Assert.Equal(volume.Name, mount.Name);
        Assert.Equal(volume.Name, second.Spec.Volumes[0].Name);
        Assert.StartsWith("secretvol", volume.Name, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("my_pod.Name", "zz99zz99", "my-pod-name-zz99zz99")]
    [InlineData("-Weird--", null, "weird")]
    public void Pod_name_is_dns_1123(string name, string? suffix, string expected) =>
        Assert.Equal(expected, LabelSanitizer.PodName(name, suffix));

    [Fact]
    public void Long_pod_name_is_cut_so_name_and_suffix_fit_63_characters()
    {
        var name = LabelSanitizer.PodName(new string('a', 100), "abcdefgh");
        Assert.Equal(63, name.Length);
        Assert.EndsWith("-abcdefgh", name, StringComparison.Ordinal);
    }

    [Fact]
    public void Pod_name_without_letters_or_digits_is_a_clear_error()
    {
        var e = Assert.Throws<SiroccoException>(() => LabelSanitizer.PodName("___", null));
        Assert.Contains("'___'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_suffix_is_eight_lower_alphanumerics_and_varies()
    {
        var suffixes = Enumerable.Range(0, 20).Select(_ => LabelSanitizer.RandomSuffix()).ToList();
        Assert.All(suffixes, s => Assert.Matches("^[a-z0-9]{8}$", s));
        Assert.True(suffixes.Distinct().Count() > 1);
    }

    [Theory]
    [InlineData("simple-value_1.0", "simple-value_1.0")]
    [InlineData("", "")]
    public void Valid_label_values_are_kept(string value, string expected) =>
        Assert.Equal(expected, LabelSanitizer.LabelValue(value));

    [Fact]
    public void Invalid_or_long_label_values_are_cut_and_get_a_hash_that_keeps_them_distinct()
    {
        var a = LabelSanitizer.LabelValue("manual__2024-01-01T00:00:00+00:00");
        var b = LabelSanitizer.LabelValue("manual__2024-01-01T00:00:00+01:00");
        var longValue = LabelSanitizer.LabelValue(new string('x', 80));

        Assert.Matches("^manual__2024-01-01T0000000000-[0-9a-f]{9}$", a);
        Assert.NotEqual(a, b);
        Assert.Equal(63, longValue.Length);
        Assert.Matches("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", longValue);
    }

    [Theory]
    [InlineData("___")]
    [InlineData("-.-")]
    [InlineData("é")]
    public void Label_value_with_no_letter_or_digit_left_is_the_hash_alone(string value)
    {
        var label = LabelSanitizer.LabelValue(value);
        Assert.Matches("^[0-9a-f]{9}$", label);
        Assert.NotEqual(label, LabelSanitizer.LabelValue(value + "_"));
    }

    [Fact]
    public void Identity_labels_are_on_the_pod_and_win_over_user_labels()
    {
        var op = new KubernetesPodOperator("t") { Image = "i", Labels = { ["try_number"] = "99", ["team"] = "x" } };

        var labels = PodBuilder.Build(op, Context with { MapIndex = 3 }).Metadata.Labels;

        Assert.Equal("2", labels["try_number"]);
        Assert.Equal("3", labels["map_index"]);
        Assert.Equal("True", labels["kubernetes_pod_operator"]);
        Assert.Equal("x", labels["team"]);
        Assert.Contains("sirocco_version", labels.Keys);
    }
}
