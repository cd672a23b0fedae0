"""One lab test across a patient's visits: value over time in one unit, the reference range
shaded behind it, abnormal results marked in a colour of their own.

The line is broken where a visit has no value (one line series per run of measured
visits), so a gap is never drawn as if the value had been seen. The range is a step band:
each visit's own interval holds from halfway since the visit before to halfway to the
next, because laboratories and their ranges change between visits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from PySide6.QtCharts import (
    QAreaSeries,
    QChart,
    QChartView,
    QDateTimeAxis,
    QLineSeries,
    QScatterSeries,
    QValueAxis,
)
from PySide6.QtCore import QDateTime, QMargins, QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QCursor, QPainter, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from ...services.patient_history import LabTrend, TrendPoint
from .clinical_colors import RED, ClinicalColors, blend

GREEN = QColor("#2e9e4f")
LINE_LIGHT, LINE_DARK = QColor("#1f6fb2"), QColor("#7fb8f0")
ABNORMAL_DARK = QColor("#ff6b6b")
SINGLE_VISIT_PAD = timedelta(days=20)
MAX_TICKS = 6


def _ms(moment: datetime) -> float:
    return moment.timestamp() * 1000.0


def value_text(point: TrendPoint, unit: str | None) -> str:
    """"1.70 mg/dL (printed 150 µmol/L)" as a tooltip and the notes say it."""
    shown = f"{point.value:.3g}" if point.value is not None else "—"
    text = f"{shown} {unit or ''}".strip()
    if point.converted:
        text += f" (printed {point.value_text} {point.printed_unit})"
    elif point.assumed_unit:
        text += f" (printed {point.value_text} without a usable unit; read as {unit})"
    return text


class TrendChart(QChartView):
    def __init__(self, colors: ClinicalColors, parent: QWidget | None = None) -> None:
        chart = QChart()
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.setMargins(QMargins(4, 4, 4, 4))
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setAccessibleName("Lab trend chart")
        self.setMinimumHeight(220)
        self._colors = colors
        self.trend: LabTrend | None = None
        self.lines: list[QLineSeries] = []
        self.normal_points: QScatterSeries | None = None
        self.abnormal_points: QScatterSeries | None = None
        self.bands: list[QAreaSeries] = []
        # A band's edges: Qt makes the area series a child of its upper edge,
        # so the edges must live as long as the band (they are not in the chart).
        self._band_edges: list[QLineSeries] = []
        self._by_x: dict[float, TrendPoint] = {}

    def set_colors(self, colors: ClinicalColors) -> None:
        self._colors = colors
        self.show_trend(self.trend)

    def show_trend(self, trend: LabTrend | None) -> None:
        chart = self.chart()
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        self.lines, self.bands, self._band_edges = [], [], []
        self.normal_points = self.abnormal_points = None
        self._by_x = {}
        self.trend = trend
        self._theme(chart)
        if trend is None or not trend.measured:
            chart.setTitle("No values to plot" if trend is not None else "")
            return
        chart.setTitle(f"{trend.name} ({trend.unit})" if trend.unit else trend.name)
        measured = trend.measured
        x_min, x_max = self._x_range(trend.points)
        y_min, y_max = self._y_range(trend.points)

        x_axis = QDateTimeAxis()
        x_axis.setFormat("dd MMM yyyy")
        x_axis.setTickCount(max(2, min(MAX_TICKS, len(trend.points))))
        x_axis.setRange(_qdatetime(x_min), _qdatetime(x_max))
        y_axis = QValueAxis()
        y_axis.setRange(y_min, y_max)
        y_axis.applyNiceNumbers()
        y_axis.setTitleText(trend.unit or "")
        for axis in (x_axis, y_axis):
            axis.setLabelsColor(self._colors.text)
            axis.setTitleBrush(QBrush(self._colors.text))
            axis.setGridLineColor(blend(self._colors.base, self._colors.text, 0.15))
            axis.setLinePenColor(blend(self._colors.base, self._colors.text, 0.4))
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        low_edge, high_edge = y_axis.min(), y_axis.max()

        for band in self._bands(trend.points, _ms(x_min), _ms(x_max), low_edge, high_edge):
            self._add(band, x_axis, y_axis, legend=not self.bands)
            self.bands.append(band)

        line_color = LINE_DARK if self._colors.dark else LINE_LIGHT
        for number, run in enumerate(trend.segments()):
            line = QLineSeries()
            line.setName("Result")
            line.setPen(QPen(line_color, 2))
            for point in run:
                line.append(_ms(point.at), point.value or 0.0)
            self._add(line, x_axis, y_axis, legend=number == 0)
            self.lines.append(line)

        normal, abnormal = QScatterSeries(), QScatterSeries()
        normal.setName("Within range")
        abnormal.setName("Abnormal")
        for series, color, size in ((normal, line_color, 10.0),
                                    (abnormal, self._abnormal_color(), 12.0)):
            series.setMarkerSize(size)
            series.setColor(color)
            series.setBorderColor(self._colors.base)
        for point in measured:
            x = _ms(point.at)
            self._by_x[x] = point
            (abnormal if point.abnormal else normal).append(x, point.value or 0.0)
        for series in (normal, abnormal):
            series.hovered.connect(self._hovered)
            self._add(series, x_axis, y_axis, legend=series is abnormal
                      and bool(abnormal.count()))
        self.normal_points, self.abnormal_points = normal, abnormal

    # ---- pieces -------------------------------------------------------------------------

    def _theme(self, chart: QChart) -> None:
        chart.setTheme(QChart.ChartTheme.ChartThemeDark if self._colors.dark
                       else QChart.ChartTheme.ChartThemeLight)
        chart.setBackgroundBrush(QBrush(self._colors.base))
        chart.setBackgroundRoundness(0)
        self.setBackgroundBrush(QBrush(self._colors.base))  # around the chart, too
        chart.setPlotAreaBackgroundVisible(False)
        chart.setTitleBrush(QBrush(self._colors.text))
        font = chart.titleFont()
        font.setBold(True)
        chart.setTitleFont(font)
        chart.legend().setLabelColor(self._colors.text)

    def _abnormal_color(self) -> QColor:
        return QColor(ABNORMAL_DARK) if self._colors.dark else QColor(RED)

    def _add(self, series: QLineSeries | QScatterSeries | QAreaSeries, x_axis: QDateTimeAxis,
             y_axis: QValueAxis, *, legend: bool) -> None:
        chart = self.chart()
        chart.addSeries(series)
        series.attachAxis(x_axis)
        series.attachAxis(y_axis)
        for marker in chart.legend().markers(series):
            marker.setVisible(legend)

    @staticmethod
    def _x_range(points: Sequence[TrendPoint]) -> tuple[datetime, datetime]:
        first, last = points[0].at, points[-1].at
        if last - first < timedelta(days=2):
            return first - SINGLE_VISIT_PAD, last + SINGLE_VISIT_PAD
        pad = (last - first) * 0.06
        return first - pad, last + pad

    @staticmethod
    def _y_range(points: Sequence[TrendPoint]) -> tuple[float, float]:
        values = [p.value for p in points if p.value is not None]
        values += [b for p in points for b in (p.ref_low, p.ref_high) if b is not None]
        low, high = min(values), max(values)
        span = high - low or abs(high) * 0.2 or 1.0
        bottom = low - span * 0.15
        if low >= 0 > bottom:
            bottom = 0.0  # no negative axis for a value that cannot be negative
        return bottom, high + span * 0.15

    def _bands(self, points: Sequence[TrendPoint], x_min: float, x_max: float,
               low_edge: float, high_edge: float) -> list[QAreaSeries]:
        """One step band per run of visits with a range (a one-sided range reaches the
        edge of the chart: "below 200" is shaded down to the axis)."""
        xs = [_ms(p.at) for p in points]
        bands: list[QAreaSeries] = []
        upper = lower = None
        fill = QColor(GREEN)
        fill.setAlpha(70 if self._colors.dark else 45)
        edge = QColor(GREEN)
        edge.setAlpha(140)
        for i, point in enumerate(points):
            if point.ref_low is None and point.ref_high is None:
                upper = lower = None
                continue
            if upper is None or lower is None:
                upper, lower = QLineSeries(), QLineSeries()
                self._band_edges += [upper, lower]
                band = QAreaSeries(upper, lower)
                band.setName("Reference range")
                band.setBrush(QBrush(fill))
                band.setPen(QPen(edge, 1))
                bands.append(band)
            start = x_min if i == 0 else (xs[i - 1] + xs[i]) / 2
            end = x_max if i == len(points) - 1 else (xs[i] + xs[i + 1]) / 2
            top = point.ref_high if point.ref_high is not None else high_edge
            bottom = point.ref_low if point.ref_low is not None else low_edge
            for x in (start, end):
                upper.append(x, top)
                lower.append(x, bottom)
        return bands

    def _hovered(self, position: QPointF, state: bool) -> None:
        if not state or self.trend is None:
            QToolTip.hideText()
            return
        point = self._by_x.get(position.x())
        if point is None:
            return
        lines = [point.at.astimezone().strftime("%d %b %Y"),
                 value_text(point, self.trend.unit)]
        if point.flag and point.abnormal:
            lines.append(f"Flag: {point.flag}")
        if point.ref_low is not None or point.ref_high is not None:
            low = f"{point.ref_low:.3g}" if point.ref_low is not None else ""
            high = f"{point.ref_high:.3g}" if point.ref_high is not None else ""
            lines.append(f"Reference: {low} – {high}"
                         + (" (app default)" if point.ref_from_knowledge_base else ""))
        QToolTip.showText(QCursor.pos(), "\n".join(lines), self)


def _qdatetime(moment: datetime) -> QDateTime:
    return QDateTime.fromMSecsSinceEpoch(round(_ms(moment)))
