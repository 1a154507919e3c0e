using Sirocco.Scheduling;

namespace Sirocco.Core.Tests;

/// <summary>Data intervals as Airflow 2's timetables define them (DeltaDataIntervalTimetable, CronDataIntervalTimetable).</summary>
public class ScheduleTests
{
    private static DateTimeOffset Utc(int y, int mo, int d, int h = 0, int mi = 0) => new(y, mo, d, h, mi, 0, TimeSpan.Zero);

    [Fact]
    public void Timedelta_with_catchup_starts_at_start_date_and_runs_after_interval_end()
    {
        Schedule s = TimeSpan.FromDays(1);
        var first = s.Next(null, Utc(2024, 1, 1), null, catchup: true, now: Utc(2024, 1, 3, 12))!.Value;
        Assert.Equal(new DataInterval(Utc(2024, 1, 1), Utc(2024, 1, 2)), first.Interval);
        Assert.Equal(Utc(2024, 1, 2), first.RunAfter);
        Assert.Equal(Utc(2024, 1, 1), first.LogicalDate);

        var second = s.Next(first.Interval, Utc(2024, 1, 1), null, true, Utc(2024, 1, 3, 12))!.Value;
        Assert.Equal(new DataInterval(Utc(2024, 1, 2), Utc(2024, 1, 3)), second.Interval);
    }

    [Fact]
    public void Timedelta_without_catchup_runs_the_interval_ending_now()
    {
        // Airflow's delta timetable does not align: the latest interval is [now - delta, now).
        Schedule s = TimeSpan.FromDays(1);
        var next = s.Next(null, Utc(2024, 1, 1), null, catchup: false, now: Utc(2024, 1, 3, 12))!.Value;
        Assert.Equal(new DataInterval(Utc(2024, 1, 2, 12), Utc(2024, 1, 3, 12)), next.Interval);

        // After a run long ago, catchup=False still jumps forward.
        var after = s.Next(new DataInterval(Utc(2023, 12, 1), Utc(2023, 12, 2)), Utc(2023, 1, 1), null, false, Utc(2024, 1, 3, 12))!.Value;
        Assert.Equal(Utc(2024, 1, 2, 12), after.Interval.Start);
    }

    [Fact]
    public void Timedelta_without_catchup_never_goes_before_start_date()
    {
        Schedule s = TimeSpan.FromDays(1);
        var next = s.Next(null, Utc(2024, 1, 3), null, catchup: false, now: Utc(2024, 1, 3, 12))!.Value;
        Assert.Equal(Utc(2024, 1, 3), next.Interval.Start);
        Assert.Equal(Utc(2024, 1, 4), next.RunAfter);
    }

    [Fact]
    public void Cron_aligns_an_unaligned_start_date_to_the_next_cron_time()
    {
        var s = Schedule.Parse("@daily");
        var first = s.Next(null, Utc(2024, 1, 1, 10), null, true, Utc(2024, 2, 1))!.Value;
        Assert.Equal(new DataInterval(Utc(2024, 1, 2), Utc(2024, 1, 3)), first.Interval);
    }

    [Fact]
    public void Cron_without_catchup_runs_the_latest_complete_interval()
    {
        var s = Schedule.Parse("0 0 * * *");
        var next = s.Next(null, Utc(2024, 1, 1), null, false, Utc(2024, 1, 3, 12))!.Value;
        Assert.Equal(new DataInterval(Utc(2024, 1, 2), Utc(2024, 1, 3)), next.Interval);

        // Exactly on a boundary, the interval that just ended is the latest complete one.
        var onBoundary = s.Next(null, Utc(2024, 1, 1), null, false, Utc(2024, 1, 3))!.Value;
        Assert.Equal(new DataInterval(Utc(2024, 1, 2), Utc(2024, 1, 3)), onBoundary.Interval);
    }

    [Fact]
    public void Cron_in_a_zone_with_dst_keeps_local_midnight_so_intervals_are_23_and_25_hours()
    {
        var amsterdam = TimeZoneInfo.FindSystemTimeZoneById("Europe/Amsterdam");
        var s = Schedule.Cron("0 0 * * *", amsterdam);

        // 2024-03-31: clocks go forward at 02:00 local. Local midnights are 23:00Z (CET) then 22:00Z (CEST).
        var spring = s.Next(new DataInterval(Utc(2024, 3, 29, 23), Utc(2024, 3, 30, 23)), Utc(2024, 1, 1), null, true, Utc(2024, 4, 10))!.Value;
        Assert.Equal(Utc(2024, 3, 30, 23), spring.Interval.Start);
        Assert.Equal(Utc(2024, 3, 31, 22), spring.Interval.End);
        Assert.Equal(TimeSpan.FromHours(23), spring.Interval.End - spring.Interval.Start);

        // 2024-10-27: clocks go back at 03:00 local: a 25-hour day.
        var autumn = s.Next(new DataInterval(Utc(2024, 10, 25, 22), Utc(2024, 10, 26, 22)), Utc(2024, 1, 1), null, true, Utc(2024, 11, 10))!.Value;
        Assert.Equal(Utc(2024, 10, 26, 22), autumn.Interval.Start);
        Assert.Equal(Utc(2024, 10, 27, 23), autumn.Interval.End);
        Assert.Equal(TimeSpan.FromHours(25), autumn.Interval.End - autumn.Interval.Start);
    }

    [Theory]
    [InlineData("@hourly", "2024-01-01T00:30:00Z", "2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z")]
    [InlineData("@daily", "2024-01-01T00:30:00Z", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z")]
    [InlineData("@weekly", "2024-01-01T00:00:00Z", "2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z")]
    [InlineData("@monthly", "2024-01-15T00:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z")]
    [InlineData("@quarterly", "2024-02-10T00:00:00Z", "2024-04-01T00:00:00Z", "2024-07-01T00:00:00Z")]
    [InlineData("@yearly", "2024-03-01T00:00:00Z", "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z")]
    [InlineData("@annually", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z")]
    public void Presets_schedule_from_the_first_aligned_time(string preset, string start, string intervalStart, string intervalEnd)
    {
        var s = Schedule.Parse(preset);
        var next = s.Next(null, AirflowTime.Parse(start), null, true, Utc(2030, 1, 1))!.Value;
        Assert.Equal(AirflowTime.Parse(intervalStart), next.Interval.Start);
        Assert.Equal(AirflowTime.Parse(intervalEnd), next.Interval.End);
        Assert.Equal(next.Interval.End, next.RunAfter);
    }

    [Fact]
    public void Once_runs_a_single_time_at_the_start_date()
    {
        var s = Schedule.Parse("@once");
        var next = s.Next(null, Utc(2024, 1, 5), null, true, Utc(2024, 2, 1))!.Value;
        Assert.Equal(DataInterval.Exact(Utc(2024, 1, 5)), next.Interval);
        Assert.Equal(Utc(2024, 1, 5), next.RunAfter);
        Assert.Null(s.Next(next.Interval, Utc(2024, 1, 5), null, true, Utc(2024, 2, 1)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("None")]
    [InlineData("")]
    public void No_schedule_creates_no_runs(string? text)
    {
        var s = Schedule.Parse(text);
        Assert.Same(Schedule.None, s);
        Assert.Null(s.Next(null, Utc(2024, 1, 1), null, true, Utc(2025, 1, 1)));
        Assert.Equal(DataInterval.Exact(Utc(2024, 6, 1)), s.InferManualDataInterval(Utc(2024, 6, 1)));
    }

    [Fact]
    public void End_date_stops_scheduling()
    {
        Schedule s = TimeSpan.FromDays(1);
        Assert.Null(s.Next(new DataInterval(Utc(2024, 1, 1), Utc(2024, 1, 2)), Utc(2024, 1, 1), Utc(2024, 1, 1, 12), true, Utc(2024, 2, 1)));
        Assert.NotNull(s.Next(null, Utc(2024, 1, 1), Utc(2024, 1, 1, 12), true, Utc(2024, 2, 1)));
    }

    [Fact]
    public void No_start_date_means_no_scheduled_run()
    {
        Assert.Null(Schedule.Parse("@daily").Next(null, null, null, true, Utc(2024, 1, 1)));
        Assert.Null(Schedule.Every(TimeSpan.FromHours(1)).Next(null, null, null, true, Utc(2024, 1, 1)));
    }

    [Fact]
    public void Manual_run_covers_the_last_complete_interval_for_cron_and_the_preceding_delta_for_timedelta()
    {
        // Airflow's example: a daily DAG triggered at 01:00 on the 25th covers the 24th.
        Assert.Equal(new DataInterval(Utc(2024, 1, 24), Utc(2024, 1, 25)), Schedule.Parse("@daily").InferManualDataInterval(Utc(2024, 1, 25, 1)));
        Assert.Equal(new DataInterval(Utc(2024, 1, 24, 1), Utc(2024, 1, 25, 1)), Schedule.Every(TimeSpan.FromDays(1)).InferManualDataInterval(Utc(2024, 1, 25, 1)));
    }

    [Theory]
    [InlineData("@fortnightly", "unknown schedule preset '@fortnightly'")]
    [InlineData("61 * * * *", "invalid cron expression '61 * * * *'")]
    [InlineData("* * *", "invalid cron expression '* * *'")]
    public void Bad_schedules_name_the_text(string text, string message)
    {
        var e = Assert.Throws<SiroccoException>(() => Schedule.Parse(text));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Descriptions_read_like_airflow()
    {
        Assert.Equal("1 day, 0:00:00", Schedule.Every(TimeSpan.FromDays(1)).Description);
        Assert.Equal("2:30:00", Schedule.Every(TimeSpan.FromMinutes(150)).Description);
        Assert.Equal("@daily", Schedule.Parse("@daily").Description);
        Assert.Equal("None", Schedule.None.Description);
    }

    [Fact]
    public void Run_ids_use_python_isoformat_of_the_logical_date()
    {
        Assert.Equal("scheduled__2024-01-01T00:00:00+00:00", DagRun.GenerateRunId(DagRunType.Scheduled, Utc(2024, 1, 1)));
        var withMicros = new DateTimeOffset(2024, 1, 1, 10, 11, 12, TimeSpan.Zero).AddTicks(1234560);
        Assert.Equal("manual__2024-01-01T10:11:12.123456+00:00", DagRun.GenerateRunId(DagRunType.Manual, withMicros));
        // A local time is stored and named in UTC.
        Assert.Equal("scheduled__2024-03-30T23:00:00+00:00", DagRun.GenerateRunId(DagRunType.Scheduled, new DateTimeOffset(2024, 3, 31, 0, 0, 0, TimeSpan.FromHours(1))));
    }
}
