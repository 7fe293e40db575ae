import { IsNumber, IsOptional, Max, Min } from 'class-validator';

const finite = { allowNaN: false, allowInfinity: false };

/** What a device publishes on `devices/<id>/telemetry`. The global ValidationPipe enforces it. */
export class TelemetryDto {
  /** °C */
  @IsNumber(finite)
  @Min(-273.15)
  temperature: number;

  /** Relative humidity, % */
  @IsOptional()
  @IsNumber(finite)
  @Min(0)
  @Max(100)
  humidity?: number;
}
