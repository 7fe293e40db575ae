import { IsString, MaxLength } from 'class-validator';

export class SignInDto {
  @IsString()
  @MaxLength(64)
  user: string;

  @IsString()
  @MaxLength(256)
  password: string;
}
