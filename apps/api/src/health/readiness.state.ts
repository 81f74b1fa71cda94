import { Injectable } from '@nestjs/common';

/** Flipped on SIGTERM so readiness answers 503 while in-flight requests drain. */
@Injectable()
export class ReadinessState {
  shuttingDown = false;
}
